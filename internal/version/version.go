// Package version holds build information, set at link time with -ldflags -X.
package version

import "runtime/debug"

// These are overridden by the Makefile's -ldflags; the defaults describe a plain `go build`.
var (
	Version   = "dev"
	GitCommit = ""
	BuildDate = ""
)

// Info describes the running binary.
type Info struct {
	Version   string `json:"version"`
	GitCommit string `json:"gitCommit,omitempty"`
	BuildDate string `json:"buildDate,omitempty"`
	GoVersion string `json:"goVersion"`
}

// Get returns the build information, falling back to the Go build info's VCS stamp when the
// binary was built without the Makefile.
func Get() Info {
	info := Info{Version: Version, GitCommit: GitCommit, BuildDate: BuildDate}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info.GoVersion = bi.GoVersion
		if info.GitCommit == "" {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					info.GitCommit = s.Value
				}
			}
		}
	}
	return info
}
