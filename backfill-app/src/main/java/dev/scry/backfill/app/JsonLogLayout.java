package dev.scry.backfill.app;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.IThrowableProxy;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.LayoutBase;

/**
 * {@code --log-format json}: one JSON object per line with timestamp, level, logger, message and
 * the context the pipeline puts in the MDC (pipeline, phase, table, lsn). Logback 1.2, which the
 * Debezium BOM pins, has no JSON encoder of its own.
 */
public final class JsonLogLayout extends LayoutBase<ILoggingEvent> {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public String doLayout(ILoggingEvent event) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("timestamp", Instant.ofEpochMilli(event.getTimeStamp()).toString());
        line.put("level", event.getLevel().toString());
        line.put("logger", event.getLoggerName());
        line.put("message", event.getFormattedMessage());
        line.put("thread", event.getThreadName());
        event.getMDCPropertyMap().forEach(line::put);
        IThrowableProxy thrown = event.getThrowableProxy();
        if (thrown != null) {
            line.put("exception", ThrowableProxyUtil.asString(thrown));
        }
        return write(line) + System.lineSeparator();
    }

    /**
     * A line of the same shape for what the process writes outside logging (a command's error,
     * its output on stdout), with the pipeline and phase from the MDC.
     */
    static String event(String level, String logger, String message) {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("timestamp", Instant.now().toString());
        line.put("level", level);
        line.put("logger", logger);
        line.put("message", message);
        line.put("thread", Thread.currentThread().getName());
        Map<String, String> mdc = org.slf4j.MDC.getCopyOfContextMap();
        if (mdc != null) {
            line.putAll(mdc);
        }
        return write(line);
    }

    static String write(Map<String, Object> line) {
        try {
            return JSON.writeValueAsString(line);
        }
        catch (JsonProcessingException e) {
            return "{\"level\":\"ERROR\",\"message\":\"log line could not be written as JSON\"}";
        }
    }
}
