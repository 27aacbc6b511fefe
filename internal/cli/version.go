package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trafficctl/trafficctl/internal/version"
)

type versionOptions struct {
	f      *Factory
	output string
}

func newVersionCommand(f *Factory) *cobra.Command {
	o := &versionOptions{f: f}
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print trafficctl's version",
		Example: `  trafficctl version
  trafficctl version -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run()
		},
	}
	addOutputFlag(cmd, &o.output, outputText, outputText, outputJSON, outputYAML)
	return cmd
}

func (o *versionOptions) Validate() error {
	return validateOutput(o.output, outputText, outputJSON, outputYAML)
}

func (o *versionOptions) Run() error {
	info := version.Get()
	if o.output != outputText {
		return printStructured(o.f.Streams.Out, o.output, info)
	}
	_, err := fmt.Fprintf(o.f.Streams.Out, "trafficctl %s (commit %s, built %s, %s)\n",
		info.Version, orUnknown(info.GitCommit), orUnknown(info.BuildDate), info.GoVersion)
	return err
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
