package org.criu2core.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.asciidoctor.Asciidoctor;
import org.asciidoctor.Attributes;
import org.asciidoctor.Options;
import org.asciidoctor.SafeMode;
import picocli.AutoComplete;
import picocli.codegen.docgen.manpage.ManPageGenerator;

/**
 * Writes what the packages install besides the jar, all from the picocli model of the commands:
 * a man page per command (ManPageGenerator's AsciiDoc, made troff by Asciidoctor, gzipped as
 * Debian installs them) and bash and zsh completion. Run by `mvn package` (exec-maven-plugin);
 * it lives with the tests because picocli-codegen and Asciidoctor must not ship in the jar.
 *
 * <p>Arguments: the output folder and the version to print in the pages.
 */
public final class ManualsAndCompletion {
    private ManualsAndCompletion() {
    }

    public static void main(String[] args) throws IOException {
        Path out = Path.of(args[0]);
        String version = args[1];
        var cli = Main.commandLine(new String[0]);
        cli.getCommandSpec().versionProvider(() -> new String[] {"criu2core " + version});
        // help is the same as --help, and generate-completion is what these files already are
        cli.getCommandSpec().removeSubcommand("help");
        cli.getCommandSpec().removeSubcommand("generate-completion");
        for (var sub : cli.getSubcommands().values()) {
            sub.getCommandSpec().versionProvider(() -> new String[] {"criu2core " + version});
            // --help ends with "Examples:" and indented command lines; a man page has a section for them
            var usage = sub.getCommandSpec().usageMessage();
            List<String> footer = new ArrayList<>(List.of(usage.footer()));
            int examples = footer.indexOf("Examples:");
            if (examples >= 0) {
                usage.footerHeading("Examples");
                usage.footer(footer.subList(examples + 1, footer.size()).toArray(String[]::new));
            }
        }

        Path adoc = Files.createDirectories(out.resolve("adoc"));
        Path man1 = Files.createDirectories(out.resolve("man/man1"));
        int status = ManPageGenerator.generateManPage(adoc.toFile(), null, new boolean[0], true, cli.getCommandSpec());
        if (status != 0) {
            throw new IOException("ManPageGenerator failed with status " + status);
        }
        try (Asciidoctor asciidoctor = Asciidoctor.Factory.create(); Stream<Path> pages = Files.list(adoc)) {
            for (Path page : pages.sorted().toList()) {
                String name = page.getFileName().toString().replaceFirst("\\.adoc$", "");
                Path troff = adoc.resolve(name + ".1");
                asciidoctor.convertFile(page.toFile(), Options.builder().backend("manpage").safe(SafeMode.UNSAFE)
                        .attributes(Attributes.builder().attribute("manmanual", "criu2core manual").build())
                        .toFile(troff.toFile()).build());
                try (OutputStream gz = new GZIPOutputStream(Files.newOutputStream(man1.resolve(name + ".1.gz")))) {
                    Files.copy(troff, gz);
                }
            }
        }

        String bash = AutoComplete.bash("criu2core", cli);
        Path bashDir = Files.createDirectories(out.resolve("completion/bash"));
        Files.writeString(bashDir.resolve("criu2core"), bash, StandardCharsets.UTF_8);
        Path zshDir = Files.createDirectories(out.resolve("completion/zsh"));
        // zsh autoloads _criu2core on the first completion of criu2core: it runs picocli's bash
        // completion through bashcompinit, which makes it the completion from then on, and
        // completes this first time too
        Files.writeString(zshDir.resolve("_criu2core"), "#compdef criu2core\n"
                + "autoload -U +X bashcompinit && bashcompinit\n"
                + bash.replaceFirst("(?m)^#!.*\n", "")
                + "\n_bash_complete -F _complete_criu2core \"$@\"\n", StandardCharsets.UTF_8);
        deleteTree(adoc);
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

}
