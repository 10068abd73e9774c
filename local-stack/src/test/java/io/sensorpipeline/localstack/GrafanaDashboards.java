package io.sensorpipeline.localstack;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The shipped Grafana dashboards (configs/grafana/dashboards), for the tests that check their queries. */
public final class GrafanaDashboards
{
    private static final ObjectMapper JSON = new ObjectMapper();

    private GrafanaDashboards() {}

    /** The dashboard files under {@code configs}, sorted. */
    public static List<Path> files(Path configs)
            throws IOException
    {
        try (Stream<Path> files = Files.list(configs.resolve("grafana").resolve("dashboards"))) {
            return files.filter(file -> file.toString().endsWith(".json")).sorted().toList();
        }
    }

    /** Every PromQL expression of every panel target of the shipped dashboards, in file order. */
    public static List<String> expressions(Path configs)
            throws IOException
    {
        List<String> expressions = new ArrayList<>();
        for (Path dashboard : files(configs)) {
            for (JsonNode panel : JSON.readTree(dashboard.toFile()).get("panels")) {
                for (JsonNode target : panel.get("targets")) {
                    expressions.add(target.get("expr").asText());
                }
            }
        }
        return expressions;
    }
}
