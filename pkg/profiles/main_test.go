package profiles

import (
	"testing"

	"github.com/trafficctl/trafficctl/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
