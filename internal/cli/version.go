package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/trafficctl/trafficctl/internal/version"
)

var (
	versionShort   = "Print trafficctl's version"
	versionExample = `  trafficctl version
  trafficctl version -o json`
)

type versionOptions struct {
	genericiooptions.IOStreams
	output string
}

func newVersionCommand(f *Factory) *cobra.Command {
	o := &versionOptions{IOStreams: f.Streams}
	cmd := newCommand("version", versionShort, "", versionExample, cobra.NoArgs, o)
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
}

func (o *versionOptions) Complete(*cobra.Command, []string) error { return nil }

func (o *versionOptions) Validate() error {
	return validateOutput(o.output, outputText, outputJSON, outputYAML)
}

func (o *versionOptions) Run(context.Context) error {
	info := version.Get()
	if o.output != outputText {
		return printObject(o.Out, o.output, info)
	}
	_, err := fmt.Fprintf(o.Out, "trafficctl %s (commit %s, built %s, %s)\n",
		info.Version, orUnknown(info.GitCommit), orUnknown(info.BuildDate), info.GoVersion)
	return err
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
