package dev.scry.backfill.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LsnTest {

    @Test
    void parsesAndPrintsPostgresNotation() {
        assertThat(Lsn.parse("16/B374D848").value()).isEqualTo(0x16B374D848L);
        assertThat(Lsn.parse("16/B374D848")).hasToString("16/B374D848");
        assertThat(Lsn.parse("0/0")).isEqualTo(Lsn.ZERO);
        assertThat(Lsn.parse("FFFFFFFF/FFFFFFFF")).hasToString("FFFFFFFF/FFFFFFFF");
    }

    @Test
    void comparesUnsignedLikeTheServer() {
        Lsn high = Lsn.parse("FFFFFFFF/0");
        Lsn low = Lsn.parse("1/0");
        assertThat(high.isAfter(low)).isTrue();
        assertThat(high.compareTo(low)).isPositive();
    }

    @Test
    void measuresBytesBetweenPositions() {
        assertThat(Lsn.parse("1/100").bytesAfter(Lsn.parse("1/0"))).isEqualTo(256);
        assertThat(Lsn.parse("1/0").bytesAfter(Lsn.parse("0/FFFFFFFF"))).isEqualTo(1);
    }

    @Test
    void rejectsMalformedText() {
        for (String bad : new String[] {"", "12", "/1", "1/", "G/1", "1/2/3", "100000000/0"}) {
            assertThatThrownBy(() -> Lsn.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
