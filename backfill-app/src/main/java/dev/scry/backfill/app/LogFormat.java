package dev.scry.backfill.app;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;

/** Switches the log output between human-readable lines (default) and JSON lines. */
final class LogFormat {

    private static volatile boolean json;

    private LogFormat() {
    }

    static boolean json() {
        return json;
    }

    /** {@code text} or {@code json}; anything else is a usage error. */
    static synchronized void use(String format) {
        if (!"json".equals(format) && !"text".equals(format)) {
            throw new dev.scry.backfill.error.SetupException("--log-format must be text or json, got '" + format + "'");
        }
        boolean wantJson = "json".equals(format);
        if (wantJson == json) {
            return;
        }
        json = wantJson;
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Appender<ILoggingEvent> appender = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).getAppender("STDERR");
        if (appender instanceof ConsoleAppender<ILoggingEvent> console) {
            ch.qos.logback.core.encoder.Encoder<ILoggingEvent> encoder;
            if (wantJson) {
                JsonLogLayout layout = new JsonLogLayout();
                layout.setContext(context);
                layout.start();
                LayoutWrappingEncoder<ILoggingEvent> wrapping = new LayoutWrappingEncoder<>();
                wrapping.setContext(context);
                wrapping.setLayout(layout);
                encoder = wrapping;
            }
            else {
                // As logback.xml has it.
                ch.qos.logback.classic.encoder.PatternLayoutEncoder pattern = new ch.qos.logback.classic.encoder.PatternLayoutEncoder();
                pattern.setContext(context);
                pattern.setPattern("%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n");
                encoder = pattern;
            }
            encoder.start();
            console.stop();
            console.setEncoder(encoder);
            console.start();
        }
    }

    /** A command's one-line error, in the chosen format. */
    static String errorLine(String message) {
        if (!json) {
            return "error: " + message;
        }
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("timestamp", Instant.now().toString());
        line.put("level", "ERROR");
        line.put("logger", "scry-backfill");
        line.put("message", "error: " + message);
        Map<String, String> mdc = MDC.getCopyOfContextMap();
        if (mdc != null) {
            line.putAll(mdc);
        }
        return JsonLogLayout.write(line);
    }
}
