using System.CommandLine;
using StreamGuard.Cli.CommandLine;

namespace StreamGuard.Cli.Commands;

/// <summary>
/// <c>streamguard completion bash|zsh|pwsh</c>: a script that makes the shell complete verbs, options and option
/// values by asking <c>streamguard</c> itself through System.CommandLine's suggest directive
/// (<c>streamguard "[suggest:N]" "COMMAND LINE"</c>), so completions always match the binary installed.
/// </summary>
internal static class CompletionCommand
{
    private static readonly Argument<string> s_shell = new("SHELL")
    {
        Description = "bash, zsh or pwsh", HelpName = "bash|zsh|pwsh",
    };

    /// <summary>The scripts, by shell: each defines a completer for the command <c>streamguard</c>.</summary>
    internal static readonly IReadOnlyDictionary<string, string> Scripts = new Dictionary<string, string>
    {
        ["bash"] = """
            # streamguard completion for bash: source it, or save it as
            # /etc/bash_completion.d/streamguard (or ~/.local/share/bash-completion/completions/streamguard).
            _streamguard_complete() {
                local line="${COMP_LINE:0:COMP_POINT}"
                local IFS=$'\n'
                COMPREPLY=($(compgen -W "$(streamguard "[suggest:${#line}]" "$line" 2>/dev/null)" \
                    -- "${COMP_WORDS[COMP_CWORD]}"))
            }
            complete -o default -F _streamguard_complete streamguard
            """,
        ["zsh"] = """
            #compdef streamguard
            # streamguard completion for zsh: save it as _streamguard in a directory of $fpath, or source it
            # after compinit.
            _streamguard() {
                local line="${BUFFER[1,CURSOR]}"
                local -a candidates
                candidates=("${(@f)$(streamguard "[suggest:${#line}]" "$line" 2>/dev/null)}")
                compadd -a candidates
            }
            compdef _streamguard streamguard
            """,
        ["pwsh"] = """
            # streamguard completion for PowerShell: add this line to $PROFILE:
            #   streamguard completion pwsh | Out-String | Invoke-Expression
            Register-ArgumentCompleter -Native -CommandName streamguard -ScriptBlock {
                param($wordToComplete, $commandAst, $cursorPosition)
                $line = $commandAst.ToString()
                $position = $cursorPosition - $commandAst.Extent.StartOffset
                streamguard "[suggest:$position]" "$line" | ForEach-Object {
                    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
                }
            }
            """,
    };

    public static Command Command { get; } = Build();

    private static Command Build()
    {
        s_shell.AcceptOnlyFromAmong([.. Scripts.Keys]);
        return Verb.Create("completion", "a shell script that completes verbs, options and their values",
            """
            streamguard completion bash|zsh|pwsh

            Prints a script that makes the shell complete streamguard's verbs, options and option values
            (Tab), by asking streamguard itself: streamguard "[suggest:N]" "COMMAND LINE" prints the
            completions at character N (System.CommandLine's suggest directive). Install:
              bash  streamguard completion bash > ~/.local/share/bash-completion/completions/streamguard
              zsh   streamguard completion zsh > "${fpath[1]}/_streamguard"   (then restart zsh)
              pwsh  add to $PROFILE: streamguard completion pwsh | Out-String | Invoke-Expression
            streamguard must be on PATH under that name (a dotnet tool install or a link to the binary).
            """, [], arguments: [s_shell]).Runs((a, _) =>
            {
                Console.Out.Write(Scripts[a.Value(s_shell)].ReplaceLineEndings("\n") + "\n");
                return 0;
            });
    }
}
