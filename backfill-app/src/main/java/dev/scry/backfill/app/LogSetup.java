package dev.scry.backfill.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * Logback's configuration, in code: logs to stderr (stdout carries command output: summaries,
 * status), {@code dev.scry} at {@code SCRY_LOG_LEVEL} (default INFO), everything else at WARN.
 * Logback finds it through {@code META-INF/services} when no {@code logback.xml} is on the class
 * path. Code rather than XML because reading XML (Joran and the JDK's SAX parser) was a measurable
 * part of every command's start. {@code -Dlogback.configurationFile} still takes an XML file.
 */
public final class LogSetup extends ContextAwareBase implements Configurator {

    static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level %logger{0} - %msg%n";

    @Override
    public void configure(LoggerContext context) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN);
        root.addAppender(stderr);
        String level = System.getProperty("SCRY_LOG_LEVEL", System.getenv("SCRY_LOG_LEVEL"));
        context.getLogger("dev.scry").setLevel(Level.toLevel(level, Level.INFO));
        // Debezium, Kafka Connect and HikariCP narrate their start-up at INFO: the root's WARN keeps
        // only what matters, unless SCRY_LOG_LEVEL asks for more of ours alone.
    }
}
