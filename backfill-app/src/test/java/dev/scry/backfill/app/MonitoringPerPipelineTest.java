package dev.scry.backfill.app;

import static dev.scry.backfill.app.KubernetesManifests.asMap;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The dashboard and the alert rules serve many pipelines at once: every query is filtered by the
 * dashboard's pipeline variable, and no aggregation, in the dashboard or in a rule, loses the
 * {@code pipeline} label (an alert then fires per pipeline and says which one). That the metrics
 * they name are exported, with that label, is MetricsIT's part.
 */
class MonitoringPerPipelineTest {

    private static final Pattern AGGREGATION = Pattern.compile("\\b(sum|max|min|avg|count|stddev|stdvar|topk|bottomk|quantile)\\s*(by\\s*\\(([^)]*)\\))?\\s*\\(");
    private static final Pattern SELECTOR = Pattern.compile("\\b(backfill_[a-z_]+)(\\{([^}]*)\\})?");

    @Test
    void everyDashboardQueryIsFilteredByThePipelineVariableAndKeepsThePipelineLabel() throws Exception {
        JsonNode dashboard = new ObjectMapper().readTree(Files.readString(DeployFiles.root().resolve("grafana-dashboard.json")));
        List<String> variables = new ArrayList<>();
        dashboard.path("templating").path("list").forEach(v -> variables.add(v.path("name").asText()));
        assertThat(variables).as("template variables").contains("pipeline");
        JsonNode pipeline = dashboard.path("templating").path("list").get(variables.indexOf("pipeline"));
        assertThat(pipeline.path("query").asText()).contains(", pipeline)");
        assertThat(pipeline.path("multi").asBoolean()).isTrue();

        int queries = 0;
        for (JsonNode panel : dashboard.path("panels")) {
            for (JsonNode target : panel.path("targets")) {
                String expr = target.path("expr").asText();
                String where = panel.path("title").asText() + ": " + expr;
                Matcher m = SELECTOR.matcher(expr);
                while (m.find()) {
                    assertThat(m.group(3)).as(where + " filters " + m.group(1) + " by $pipeline").isNotNull().contains("pipeline=~\"$pipeline\"");
                }
                assertKeepsPipeline(expr, where);
                assertThat(target.path("legendFormat").asText()).as(where + " legend").contains("{{pipeline}}");
                queries++;
            }
        }
        assertThat(queries).isGreaterThan(5);
    }

    @Test
    void everyAlertIsRaisedPerPipelineAndNamesIt() throws Exception {
        Map<String, Object> rules = KubernetesManifests.parse(Files.readString(DeployFiles.root().resolve("prometheus-rules.yml")));
        int alerts = 0;
        for (Object g : KubernetesManifests.list(rules, "groups")) {
            for (Object r : KubernetesManifests.list(asMap(g), "rules")) {
                Map<String, Object> rule = asMap(r);
                String where = rule.get("alert") + ": " + rule.get("expr");
                assertKeepsPipeline(String.valueOf(rule.get("expr")), where);
                assertThat(String.valueOf(KubernetesManifests.map(rule, "annotations").get("summary"))).as(where + " summary")
                        .contains("{{ $labels.pipeline }}");
                alerts++;
            }
        }
        assertThat(alerts).isGreaterThan(5);
    }

    private static void assertKeepsPipeline(String expr, String where) {
        Matcher m = AGGREGATION.matcher(expr);
        while (m.find()) {
            assertThat(m.group(3)).as(where + ": " + m.group() + " must aggregate by (pipeline, ...)").isNotNull();
            assertThat(List.of(m.group(3).split("\\s*,\\s*"))).as(where + ": " + m.group()).contains("pipeline");
        }
    }
}
