package dev.scry.backfill.app;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import dev.scry.backfill.model.ColumnSpec;
import dev.scry.backfill.model.TableSpec;
import dev.scry.backfill.transform.ColumnSelector;
import dev.scry.backfill.transform.ColumnTransform;
import dev.scry.backfill.transform.Transform;
import dev.scry.backfill.transform.TransformProvider;

/** A custom transform that declares no source-side form ({@code type: reverse}): verify cannot compare its tables. */
public final class ReverseTransformProvider implements TransformProvider {

    @Override
    public String type() {
        return "reverse";
    }

    @Override
    public Transform create(Map<String, Object> settings, List<TableSpec> tables) {
        List<ColumnSelector> columns = new ArrayList<>();
        ((List<?>) settings.get("columns")).forEach(o -> columns.add(ColumnSelector.parse(String.valueOf(o))));
        return new ColumnTransform("reverse", columns) {
            @Override
            protected String transform(String value, ColumnSpec column) {
                return new StringBuilder(value).reverse().toString();
            }
        };
    }
}
