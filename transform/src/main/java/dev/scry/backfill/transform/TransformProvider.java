package dev.scry.backfill.transform;

import java.util.List;
import java.util.Map;

import dev.scry.backfill.model.TableSpec;

/**
 * Makes custom transforms available under a {@code type:} name. Implementations are found with
 * {@link java.util.ServiceLoader}: list the class in
 * {@code META-INF/services/dev.scry.backfill.transform.TransformProvider} of a jar on the classpath
 * (see {@link dev.scry.backfill.transform.example.UpperCaseProvider}).
 */
public interface TransformProvider {

    /** The {@code type:} this provider answers to. */
    String type();

    /**
     * Builds the transform from its configuration entry (every key but {@code type}) for the
     * pipeline's tables, or throws {@link IllegalArgumentException} naming the key that is wrong.
     */
    Transform create(Map<String, Object> settings, List<TableSpec> tables);
}
