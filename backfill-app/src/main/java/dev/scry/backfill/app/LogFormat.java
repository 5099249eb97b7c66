package dev.scry.backfill.app;

import org.slf4j.LoggerFactory;

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
                // As LogSetup has it.
                ch.qos.logback.classic.encoder.PatternLayoutEncoder pattern = new ch.qos.logback.classic.encoder.PatternLayoutEncoder();
                pattern.setContext(context);
                pattern.setPattern(LogSetup.PATTERN);
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
        return json ? JsonLogLayout.event("ERROR", "scry-backfill", "error: " + message) : "error: " + message;
    }

    /**
     * The format a command line asks for, read before picocli parses it, so that even a usage
     * error and help come out in it: {@code json} only when {@code --log-format json} is there; an
     * invalid value is left for the option to refuse.
     */
    static String requested(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String value = args[i].startsWith("--log-format=") ? args[i].substring("--log-format=".length())
                    : args[i].equals("--log-format") && i + 1 < args.length ? args[i + 1] : null;
            if ("json".equals(value)) {
                return "json";
            }
        }
        return "text";
    }
}
