package io.sensorpipeline.localstack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The shipped Prometheus configuration and Grafana dashboards, checked by Prometheus's own promtool: the config and
 * rule files as they are, and every PromQL expression of every dashboard panel, wrapped in a rules file.
 */
class MonitoringConfigTest
{
    private static final Path CONFIGS = Path.of("..", "configs");
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path directory;

    @Test
    void prometheusConfigAndRulesAreValid()
            throws Exception
    {
        assertPromtool(List.of("check", "config", CONFIGS.resolve("prometheus/prometheus.yml").toString()));
        assertPromtool(List.of("check", "rules",
                CONFIGS.resolve("prometheus/rules/recording.yml").toString(),
                CONFIGS.resolve("prometheus/rules/alerts.yml").toString()));
    }

    @Test
    void everyDashboardExpressionIsValidPromQl()
            throws Exception
    {
        List<String> expressions = GrafanaDashboards.expressions(CONFIGS);
        assertThat(expressions).hasSizeGreaterThanOrEqualTo(20);
        assertPromtool(List.of("check", "rules", rulesFile(expressions).toString()));
    }

    @Test
    void aBrokenExpressionFailsTheCheck()
            throws Exception
    {
        Result result = promtool(List.of("check", "rules", rulesFile(List.of("sum(rate(sensorpipeline_processed_rows_total[1m])")).toString()));
        assertThat(result.exitCode()).as(result.output()).isNotZero();
    }

    @Test
    void dashboardsUseTheProvisionedDatasource()
            throws IOException
    {
        String datasources = Files.readString(CONFIGS.resolve("grafana/provisioning/datasources/prometheus.yml"));
        for (Path dashboard : GrafanaDashboards.files(CONFIGS)) {
            for (JsonNode panel : JSON.readTree(dashboard.toFile()).get("panels")) {
                String uid = panel.path("datasource").path("uid").asText();
                assertThat(datasources).as("%s: panel %s", dashboard, panel.path("title").asText()).contains("uid: " + uid);
            }
        }
    }

    private Path rulesFile(List<String> expressions)
            throws IOException
    {
        StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard-expressions\n    rules:\n");
        for (int index = 0; index < expressions.size(); index++) {
            rules.append("      - record: dashboard_expression_").append(index).append('\n')
                    .append("        expr: ").append(JSON.writeValueAsString(expressions.get(index))).append('\n');
        }
        Path file = directory.resolve("dashboard-expressions.yml");
        Files.writeString(file, rules, StandardCharsets.UTF_8);
        return file;
    }

    private static void assertPromtool(List<String> arguments)
            throws Exception
    {
        Result result = promtool(arguments);
        assertThat(result.exitCode()).as("promtool %s:%n%s", String.join(" ", arguments), result.output()).isZero();
    }

    private static Result promtool(List<String> arguments)
            throws Exception
    {
        List<String> command = new ArrayList<>();
        command.add(Prometheus.promtool().orElseThrow(() -> new AssertionError(
                "promtool not found on PATH: ./pipeline test installs Debian's prometheus package (apt-get install prometheus)")).toString());
        command.addAll(arguments);
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Result(process.exitValue(), output);
    }

    private record Result(int exitCode, String output) {}
}
