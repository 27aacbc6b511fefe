package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/printers"
)

// Output formats accepted by -o on commands that print objects.
const (
	outputText = "text"
	outputYAML = "yaml"
	outputJSON = "json"
	// outputJSONPath prefixes a JSONPath template (-o jsonpath='{.items[*].name}'), kubectl's
	// syntax; it is accepted wherever json is.
	outputJSONPath = "jsonpath="
)

// addOutputFlag registers -o/--output with the allowed formats and shell completion for them.
func addOutputFlag(cmd *cobra.Command, target *string, def string, allowed ...string) {
	*target = def
	cmd.Flags().StringVarP(target, "output", "o", def, outputFlagHelp("output format", allowed))
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(allowed, cobra.ShellCompDirectiveNoFileComp))
}

// outputFlagHelp is the help of an -o flag: the formats, and jsonpath where json is one of them.
func outputFlagHelp(what string, allowed []string) string {
	help := fmt.Sprintf("%s: one of %v", what, allowed)
	if allows(allowed, outputJSON) {
		help += " or jsonpath=TEMPLATE"
	}
	return help
}

func allows(allowed []string, format string) bool {
	for _, a := range allowed {
		if format == a {
			return true
		}
	}
	return false
}

// validateOutput checks -o against the formats a command supports; a jsonpath template is
// checked where json is supported.
func validateOutput(got string, allowed ...string) error {
	if strings.HasPrefix(got, outputJSONPath) && allows(allowed, outputJSON) {
		_, err := newPrinter(got)
		return err
	}
	if allows(allowed, got) {
		return nil
	}
	return usageErrorf("invalid value %q for -o/--output: use one of %v", got, allowed)
}

// formatKind is the format's family: json for a jsonpath template, else the format itself.
func formatKind(format string) string {
	if strings.HasPrefix(format, outputJSONPath) {
		return outputJSON
	}
	return format
}

// newPrinter returns cli-runtime's printer for -o json, yaml or jsonpath=TEMPLATE.
func newPrinter(format string) (printers.ResourcePrinter, error) {
	switch {
	case format == outputJSON:
		return &printers.JSONPrinter{}, nil
	case format == outputYAML:
		return &printers.YAMLPrinter{}, nil
	case strings.HasPrefix(format, outputJSONPath):
		p, err := printers.NewJSONPathPrinter(strings.TrimPrefix(format, outputJSONPath))
		if err != nil {
			return nil, usageErrorf("invalid -o %s: %v", format, err)
		}
		// As kubectl: a key missing from one object prints nothing rather than failing.
		p.AllowMissingKeys(true)
		return p, nil
	default:
		return nil, fmt.Errorf("unsupported output format %q", format)
	}
}

// printObject writes v with cli-runtime's printer for format (json, yaml or jsonpath=...).
// v is a Kubernetes object or any value encoding/json can encode: a report, a plan, a list.
func printObject(w io.Writer, format string, v any) error {
	p, err := newPrinter(format)
	if err != nil {
		return err
	}
	return p.PrintObj(asObject(v), w)
}

// asObject lets the printers print v: a runtime.Object as it is, anything else as its JSON.
func asObject(v any) runtime.Object {
	if obj, ok := v.(runtime.Object); ok {
		return obj
	}
	return &printable{v: v}
}

// printableKind names the values trafficctl prints that are not Kubernetes objects. The
// printers refuse objects without a kind; it never appears in the output.
var printableKind = schema.GroupVersionKind{Group: "trafficctl.dev", Version: "v1", Kind: "Output"}

// printable adapts a plain Go value to runtime.Object: it encodes as the value itself.
type printable struct{ v any }

func (p *printable) GetObjectKind() schema.ObjectKind            { return p }
func (p *printable) DeepCopyObject() runtime.Object              { return &printable{v: p.v} }
func (p *printable) SetGroupVersionKind(schema.GroupVersionKind) {}
func (p *printable) GroupVersionKind() schema.GroupVersionKind   { return printableKind }
func (p *printable) MarshalJSON() ([]byte, error)                { return json.Marshal(p.v) }
