#!/usr/bin/env bash
# lint.sh — make lint's hook for section 4.4: buf lint (STANDARD rules on
# proto/, MINIMAL on the vendored googleapis files) and buf format, both
# with the pinned buf from stack/tools. The vendored files stay as upstream wrote them.
set -euo pipefail
cd "$(dirname "$0")"
export PATH="$PWD/../.stack/bin:$PATH"
echo "buf lint"
buf lint
echo "buf format"
buf format proto --diff --exit-code
