#!/usr/bin/env bash
# shellcheck disable=SC2016,SC2034 # prog_* hold Go source, read through ${!var}
# cost.sh — what each config library adds to a program: the same small
# loader (an int, a duration, a list from APP_* variables) built in a fresh
# module per library. Prints the Markdown table the section README carries.
# Run from anywhere: 06-config/cost.sh
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOWORK=off GOFLAGS=-mod=mod

# module@version each loader requires (bash 3.2 has no associative arrays)
req_of() {
  case $1 in
    viper) echo "github.com/spf13/viper@v1.21.0" ;;
    envconfig) echo "github.com/kelseyhightower/envconfig@v1.4.0" ;;
    env) echo "github.com/caarlos0/env/v11@v11.4.2" ;;
    stdlib+yaml) echo "go.yaml.in/yaml/v3@v3.0.4" ;;
  esac
}
# The program body of each loader, in prog_<name> (read through ${!var}).
prog_stdlib='package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	port, err := strconv.Atoi(os.Getenv("APP_PORT"))
	timeout, err2 := time.ParseDuration(os.Getenv("APP_TIMEOUT"))
	origins := strings.Split(os.Getenv("APP_ORIGINS"), ",")
	fmt.Println(port, timeout, origins, err, err2)
}'
# The stdlib loader of 04-compare also decodes the YAML file.
prog_stdlib_yaml='package main

import (
	"fmt"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

type config struct {
	Port    int           `yaml:"port"`
	Timeout time.Duration `yaml:"timeout"`
	Origins []string      `yaml:"origins"`
}

func main() {
	var c config
	b, err := os.ReadFile(os.Getenv("APP_CONFIG"))
	if err == nil {
		err = yaml.Unmarshal(b, &c)
	}
	fmt.Println(c, err)
}'
prog_viper='package main

import (
	"fmt"
	"time"

	"github.com/spf13/viper"
)

type config struct {
	Port    int
	Timeout time.Duration
	Origins []string
}

func main() {
	v := viper.New()
	v.SetEnvPrefix("APP")
	v.AutomaticEnv()
	for _, k := range []string{"port", "timeout", "origins"} {
		_ = v.BindEnv(k)
	}
	var c config
	err := v.Unmarshal(&c)
	fmt.Println(c, err)
}'
prog_envconfig='package main

import (
	"fmt"
	"time"

	"github.com/kelseyhightower/envconfig"
)

type config struct {
	Port    int
	Timeout time.Duration
	Origins []string
}

func main() {
	var c config
	err := envconfig.Process("app", &c)
	fmt.Println(c, err)
}'
prog_env='package main

import (
	"fmt"
	"time"

	"github.com/caarlos0/env/v11"
)

type config struct {
	Port    int           `env:"PORT"`
	Timeout time.Duration `env:"TIMEOUT"`
	Origins []string      `env:"ORIGINS"`
}

func main() {
	c, err := env.ParseAsWithOptions[config](env.Options{Prefix: "APP_"})
	fmt.Println(c, err)
}'

echo "| loader | modules added (\`go list -m all\`) | modules linked into the binary | stripped binary | added to the binary |"
echo "|---|---:|---:|---:|---:|"
base=0
for name in stdlib stdlib+yaml viper envconfig env; do
  dir="$work/$name"
  mkdir -p "$dir"
  var="prog_${name/+/_}"
  printf '%s\n' "${!var}" > "$dir/main.go"
  (
    cd "$dir"
    go mod init "cost/$name" >/dev/null 2>&1
    req=$(req_of "$name")
    if [[ -n $req ]]; then go get "$req" >/dev/null 2>&1; fi
    go mod tidy >/dev/null 2>&1
    go build -trimpath -ldflags='-s -w' -o bin .
  )
  mods=$(( $(cd "$dir" && go list -m all | wc -l) - 1 ))
  linked=$(cd "$dir" && { go list -deps -f '{{with .Module}}{{if not .Main}}{{.Path}}{{end}}{{end}}' . | sort -u | grep -c . || true; })
  size=$(wc -c < "$dir/bin" | tr -d ' ')
  [[ $name == stdlib ]] && base=$size
  printf '| %s | %d | %d | %.1f MiB | +%.1f MiB |\n' "$name" "$mods" "$linked" \
    "$(awk "BEGIN{print $size/1048576}")" "$(awk "BEGIN{print ($size-$base)/1048576}")"
done
echo
echo "($(go version | cut -d' ' -f3-), go build -trimpath -ldflags='-s -w', $(date -u +%Y-%m-%d))"
