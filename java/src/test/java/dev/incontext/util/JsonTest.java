package dev.incontext.util;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class JsonTest {
    /** A non-finite number is written as null and read back as NaN, never as the 0 JsonNode.asDouble() gives. */
    @Test
    void nonFiniteNumbersRoundTripAsNaN() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("loss", Double.NaN);
        m.put("rate", 2.5);
        m.put("name", "x");
        JsonNode back = Json.parse(Json.line(m));
        assertEquals("{\"loss\":null,\"rate\":2.5,\"name\":\"x\"}", Json.line(m));
        assertTrue(Double.isNaN(Json.number(back.get("loss"))));
        assertEquals(2.5, Json.number(back.get("rate")));
        assertTrue(Double.isNaN(Json.number(back.get("missing"))));
        assertTrue(Double.isNaN(Json.number(back.get("name"))));
    }
}
