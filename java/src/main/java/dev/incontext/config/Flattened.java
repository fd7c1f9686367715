package dev.incontext.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a record component whose own keys sit in the enclosing mapping rather than under a key of their own: the
 * {@link RunBasics} of every run config ({@code seed}, {@code device}, {@code out_dir}, {@code training} at the top
 * level of its YAML).
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Flattened {}
