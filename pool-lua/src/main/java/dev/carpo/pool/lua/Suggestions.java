package dev.carpo.pool.lua;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * "Did you mean …?" for a mistyped command or option name. picocli's own suggestions rank by
 * character-pair similarity, which misses the commonest typo, two letters swapped: {@code rnu}
 * came out as {@code kernels} or {@code install-kernel}, never {@code run}. Here a name is close
 * when the optimal string alignment distance (Levenshtein plus adjacent transpositions) is at most
 * 2 and less than the typed word's length, or when the typed word begins the name; closest first.
 *
 * <p>Example: {@code Suggestions.closest("rnu", List.of("run", "kernels", "repl"))} is {@code [run]}.
 */
final class Suggestions {
    static final int MAX_DISTANCE = 2;

    private Suggestions() {
    }

    /**
     * The candidates close to {@code typed}, closest first (ties in the candidates' order), compared
     * without case and without leading dashes (so {@code --verison} finds {@code --version}).
     */
    static List<String> closest(String typed, List<String> candidates) {
        String word = bare(typed);
        if (word.isEmpty()) {
            return List.of();
        }
        Map<String, Integer> ranked = new LinkedHashMap<>();
        for (String candidate : candidates) {
            String name = bare(candidate);
            int distance = distance(word, name);
            int rank;
            if (distance <= MAX_DISTANCE && distance < word.length()) {
                rank = distance;
            } else if (name.startsWith(word)) {
                rank = MAX_DISTANCE + 1; // an abbreviation: after every near miss
            } else {
                continue;
            }
            ranked.merge(candidate, rank, Math::min);
        }
        List<String> close = new ArrayList<>(ranked.keySet());
        close.sort(Comparator.comparingInt(ranked::get)); // stable: ties keep the candidates' order
        return close;
    }

    /** "'run'", "'run' or 'repl'", "'a', 'b' or 'c'". */
    static String alternatives(List<String> names) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < names.size(); i++) {
            if (i > 0) {
                s.append(i == names.size() - 1 ? " or " : ", ");
            }
            s.append('\'').append(names.get(i)).append('\'');
        }
        return s.toString();
    }

    /** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours, each 1. */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                int best = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    best = Math.min(best, d[i - 2][j - 2] + 1);
                }
                d[i][j] = best;
            }
        }
        return d[a.length()][b.length()];
    }

    private static String bare(String name) {
        int start = 0;
        while (start < name.length() && name.charAt(start) == '-') {
            start++;
        }
        return name.substring(start).toLowerCase(Locale.ROOT);
    }
}
