package dev.incontext.report;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Set;

/**
 * Builds an HTML5 page that is also well-formed XML: every element is closed by the builder (a mismatched close is a
 * bug and throws), text and attribute values are escaped, and only HTML's void elements are written self-closed
 * ({@code <br/>}), since a self-closed {@code <div/>} would be an open tag to a browser.
 */
final class Html {
    private static final Set<String> VOID = Set.of("br", "hr", "img", "meta", "link", "col", "wbr");
    /** Block elements: a newline after each keeps the file readable in a diff without changing the page. */
    private static final Set<String> LINE_AFTER = Set.of("p", "div", "section", "table", "tr", "ul", "li", "dl", "dd",
            "head", "header", "footer", "nav", "details", "pre", "h1", "h2", "h3", "title", "style", "thead", "tbody");
    private final StringBuilder out = new StringBuilder();
    private final Deque<String> open = new ArrayDeque<>();

    Html doctype() {
        out.append("<!DOCTYPE html>\n");
        return this;
    }

    /** Opens {@code tag} with attributes given as name, value pairs (a null value leaves the attribute out). */
    Html open(String tag, String... attrs) {
        if (VOID.contains(tag)) {
            throw new IllegalArgumentException("<" + tag + "> is a void element: use empty()");
        }
        out.append('<').append(tag);
        attributes(attrs);
        out.append('>');
        open.push(tag);
        return this;
    }

    Html close(String tag) {
        String top = open.poll();
        if (!tag.equals(top)) {
            throw new IllegalStateException("closing </" + tag + "> but the open element is <" + top + ">");
        }
        out.append("</").append(tag).append('>');
        if (LINE_AFTER.contains(tag)) {
            out.append('\n');
        }
        return this;
    }

    /** A void element, self-closed. */
    Html empty(String tag, String... attrs) {
        if (!VOID.contains(tag)) {
            throw new IllegalArgumentException("<" + tag + "/> is not a void element: open and close it");
        }
        out.append('<').append(tag);
        attributes(attrs);
        out.append("/>");
        return this;
    }

    /** {@code <tag attrs>text</tag>}. */
    Html element(String tag, String text, String... attrs) {
        return open(tag, attrs).text(text).close(tag);
    }

    Html text(String text) {
        out.append(LineChart.xml(text == null ? "" : text));
        return this;
    }

    /** Markup that is already well-formed (an inline SVG); the caller vouches for it. */
    Html raw(String markup) {
        out.append(markup);
        return this;
    }

    String finish() {
        if (!open.isEmpty()) {
            throw new IllegalStateException("unclosed elements: " + open);
        }
        return out.toString();
    }

    private void attributes(String[] attrs) {
        if (attrs.length % 2 != 0) {
            throw new IllegalArgumentException("attributes come in name, value pairs");
        }
        for (int i = 0; i < attrs.length; i += 2) {
            if (attrs[i + 1] != null) {
                out.append(' ').append(attrs[i]).append("=\"").append(LineChart.xml(attrs[i + 1])).append('"');
            }
        }
    }
}
