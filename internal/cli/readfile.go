package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
)

// maxFileArg bounds every file the command line reads itself (a scenario, a --body file, a
// component spec): /dev/zero or a huge file is a usage error, not an out-of-memory kill. The
// domain packages bound the files they read (pkg/internal/limits) with the same 64 MiB.
const maxFileArg = 64 << 20

// readFileArg is os.ReadFile with maxFileArg.
func readFileArg(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var buf bytes.Buffer
	if n, err := buf.ReadFrom(io.LimitReader(fh, maxFileArg+1)); err != nil {
		return nil, err
	} else if n > maxFileArg {
		return nil, fmt.Errorf("%s is larger than %d MiB, the limit", path, maxFileArg>>20)
	}
	return buf.Bytes(), nil
}
