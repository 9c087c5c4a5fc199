package dev.carpo.pool.lua;

import java.util.List;
import java.util.Optional;

/** The kernel processes a session's pools hold, to check they are gone after close. */
final class TestProcesses {
    private TestProcesses() {
    }

    static List<ProcessHandle> kernelsOf(LuaSession lua) {
        return lua.pools().pools().values().stream()
                .flatMap(p -> p.stats().instances().stream())
                .map(i -> ProcessHandle.of(i.pid()))
                .flatMap(Optional::stream)
                .toList();
    }
}
