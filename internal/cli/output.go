package cli

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// Output formats accepted by -o on commands that print objects.
const (
	outputText = "text"
	outputYAML = "yaml"
	outputJSON = "json"
)

// addOutputFlag registers -o/--output with the allowed formats and shell completion for them.
func addOutputFlag(cmd *cobra.Command, target *string, def string, allowed ...string) {
	*target = def
	cmd.Flags().StringVarP(target, "output", "o", def, fmt.Sprintf("output format: one of %v", allowed))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
}

// validateOutput checks -o against the formats a command supports.
func validateOutput(got string, allowed ...string) error {
	for _, a := range allowed {
		if got == a {
			return nil
		}
	}
	return usageErrorf("invalid value %q for -o/--output: use one of %v", got, allowed)
}

// printStructured writes v as indented JSON or as YAML.
func printStructured(w io.Writer, format string, v any) error {
	switch format {
	case outputJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case outputYAML:
		b, err := yaml.Marshal(v)
		if err != nil {
			return fmt.Errorf("encode yaml: %w", err)
		}
		_, err = w.Write(b)
		return err
	default:
		return fmt.Errorf("unsupported output format %q", format)
	}
}
