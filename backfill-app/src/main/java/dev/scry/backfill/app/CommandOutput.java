package dev.scry.backfill.app;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Writer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

/**
 * A command's own output on stdout: lines for people (summaries, reports, the daemon's last line)
 * and documents ({@code status --json}, {@code verify --json}).
 *
 * <p>With {@code --log-format json} a collector reads stdout and stderr alike, so every line here
 * is JSON too: a line of text becomes an event shaped as a log line (timestamp, level INFO, logger
 * {@value #LOGGER}, message, and the pipeline and phase) and a document is printed on one line.
 * Otherwise text passes through as it is and a document is indented.
 */
final class CommandOutput extends PrintWriter {

    /** The logger name that marks command output among the JSON lines. */
    static final String LOGGER = "scry-backfill.output";

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Lines lines;

    private CommandOutput(Lines lines) {
        super(lines, true);
        this.lines = lines;
    }

    static CommandOutput to(PrintStream stream) {
        return new CommandOutput(new Lines(stream));
    }

    /** A JSON document: indented for people, one line in the JSON log format. */
    void document(Object document) {
        flush();
        try {
            String text = LogFormat.json() ? JSON.writeValueAsString(document)
                    : JSON.writer().with(SerializationFeature.INDENT_OUTPUT).writeValueAsString(document);
            lines.raw(text);
        }
        catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Passes text through, or in the JSON log format turns each complete line into an event. */
    private static final class Lines extends Writer {

        private final PrintStream stream;
        private final StringBuilder pending = new StringBuilder();

        Lines(PrintStream stream) {
            this.stream = stream;
        }

        @Override
        public synchronized void write(char[] buffer, int offset, int length) {
            if (!LogFormat.json()) {
                stream.print(new String(buffer, offset, length));
                return;
            }
            for (int i = offset; i < offset + length; i++) {
                char c = buffer[i];
                if (c == '\n') {
                    event(pending.toString());
                    pending.setLength(0);
                }
                else if (c != '\r') {
                    pending.append(c);
                }
            }
        }

        synchronized void raw(String text) {
            stream.println(text);
            stream.flush();
        }

        private void event(String message) {
            stream.println(JsonLogLayout.event("INFO", LOGGER, message));
        }

        @Override
        public synchronized void flush() {
            // A partial line waits for its end: an event is a whole line.
            stream.flush();
        }

        @Override
        public synchronized void close() {
            if (pending.length() > 0) {
                event(pending.toString());
                pending.setLength(0);
            }
            stream.flush();
        }
    }
}
