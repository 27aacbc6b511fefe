package merge

import (
	"testing"

	"github.com/trafficctl/trafficctl/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
