package dev.scry.backfill.app;

import java.nio.file.Path;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

import dev.scry.backfill.testing.Databases;

/**
 * What every pipeline integration test has: a directory for its configuration and logs, fresh
 * source and shadow databases, and a pipeline over them, set up by the test and torn down after
 * each one (slot, publication and metadata dropped, databases dropped).
 */
abstract class PipelineTest {

    @TempDir
    Path dir;

    Databases db;
    Pipeline pipeline;

    @AfterEach
    void tearDownPipeline() {
        if (pipeline != null) {
            pipeline.run("teardown", "--drop-metadata");
        }
        if (db != null) {
            db.close();
        }
    }
}
