package dev.scry.backfill.app.config;

import dev.scry.backfill.error.SetupException;

/** A configuration file that cannot be used; the message names the file, the key and the fix. */
public final class ConfigException extends SetupException {

    public ConfigException(String message) {
        super(message);
    }
}
