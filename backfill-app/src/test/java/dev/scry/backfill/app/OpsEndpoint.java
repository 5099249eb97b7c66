package dev.scry.backfill.app;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** A running instance's operations endpoint (/metrics, /health, /ready) on loopback, as a test reads it. */
final class OpsEndpoint {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final int port;

    OpsEndpoint(int port) {
        this.port = port;
    }

    /** A port free at the time of the call, for a process about to serve its endpoint there. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    int port() {
        return port;
    }

    /** The response, or null while nothing answers. */
    HttpResponse<String> get(String path) {
        try {
            return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
                    HttpResponse.BodyHandlers.ofString());
        }
        catch (IOException e) {
            return null;
        }
        catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** The HTTP status, or -1 while nothing answers. */
    int status(String path) {
        HttpResponse<String> r = get(path);
        return r == null ? -1 : r.statusCode();
    }

    /** The body, or "" while nothing answers. */
    String body(String path) {
        HttpResponse<String> r = get(path);
        return r == null ? "" : r.body();
    }

    /** The value of one series in a /metrics text, e.g. {@code backfill_active{pipeline="p"}}. */
    static double value(String metrics, String series) {
        for (String line : metrics.split("\n")) {
            if (line.startsWith(series + " ")) {
                return Double.parseDouble(line.substring(series.length() + 1).trim());
            }
        }
        throw new AssertionError("no series " + series + " in\n" + metrics);
    }
}
