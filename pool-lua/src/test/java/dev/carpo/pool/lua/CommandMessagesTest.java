package dev.carpo.pool.lua;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** What {@code carpo} says about a mistyped command or option: the close names, closest first, or none. */
class CommandMessagesTest {
    record Said(int exit, String err) {
    }

    private static Said carpo(String... args) {
        CommandLine cmd = CarpoCommand.commandLine();
        StringWriter err = new StringWriter();
        cmd.setErr(new PrintWriter(err, true));
        cmd.setOut(new PrintWriter(new StringWriter(), true));
        int exit = cmd.execute(args);
        return new Said(exit, err.toString());
    }

    @Test
    void aSwappedPairOfLettersFindsTheCommand() {
        Said said = carpo("rnu", "x.lua");
        assertThat(said.exit()).isEqualTo(2);
        assertThat(said.err()).startsWith("carpo: unknown command 'rnu'; did you mean 'run'?\nUsage: carpo [-hV] [COMMAND]")
                .contains("Commands:", "  run ", "  repl ");
    }

    @Test
    void nearMissesNameOnlyTheCloseCommands() {
        assertThat(carpo("kernel").err()).startsWith("carpo: unknown command 'kernel'; did you mean 'kernels'?\n");
        assertThat(carpo("repel").err()).startsWith("carpo: unknown command 'repel'; did you mean 'repl'?\n");
        assertThat(carpo("install-kernal", "carpo-lua").err()).startsWith("carpo: unknown command 'install-kernal'; did you mean 'install-kernel'?\n");
        assertThat(carpo("Run", "x.lua").err()).startsWith("carpo: unknown command 'Run'; did you mean 'run'?\n");
        assertThat(carpo("r").err()).startsWith("carpo: unknown command 'r'; did you mean 'run' or 'repl'?\n");
    }

    @Test
    void aWordCloseToNothingGetsTheUsageAlone() {
        Said said = carpo("xyz");
        assertThat(said.exit()).isEqualTo(2);
        assertThat(said.err()).startsWith("carpo: unknown command 'xyz'\nUsage: carpo").contains("Commands:").doesNotContain("did you mean");
    }

    @Test
    void unknownOptionsAndArgumentsNameTheCommandTheyWereGivenTo() {
        Said option = carpo("run", "--metrics-prot", "9", "x.lua");
        assertThat(option.exit()).isEqualTo(2);
        assertThat(option.err()).startsWith("carpo: run: unknown option '--metrics-prot'; did you mean '--metrics-port'?\nUsage: carpo run");
        assertThat(carpo("kernels", "--gatway", "http://h").err()).startsWith("carpo: kernels: unknown option '--gatway'; did you mean '--gateway'?\n");
        assertThat(carpo("--verison").err()).startsWith("carpo: unknown option '--verison'; did you mean '--version'?\n");
        assertThat(carpo("-x").err()).startsWith("carpo: unknown option '-x'\nUsage: carpo");
        Said extra = carpo("kernels", "extra");
        assertThat(extra.exit()).isEqualTo(2);
        assertThat(extra.err()).startsWith("carpo: kernels: unexpected argument 'extra'\nUsage: carpo kernels");
    }

    @Test
    void distanceCountsASwapAsOneEdit() {
        assertThat(Suggestions.distance("rnu", "run")).isEqualTo(1);
        assertThat(Suggestions.distance("repel", "repl")).isEqualTo(1);
        assertThat(Suggestions.distance("ca", "abc")).isEqualTo(3); // optimal string alignment: no edit of a swapped pair
        assertThat(Suggestions.distance("", "run")).isEqualTo(3);
        assertThat(Suggestions.closest("rnu", List.of("kernels", "install-kernel", "repl", "run"))).containsExactly("run");
        assertThat(Suggestions.closest("rpl", List.of("run", "repl"))).containsExactly("repl", "run");
        assertThat(Suggestions.alternatives(List.of("a", "b", "c"))).isEqualTo("'a', 'b' or 'c'");
    }
}
