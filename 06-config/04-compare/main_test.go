package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-course/part4-infrastructure/testkit"
)

const secret = "s3cret-value"

// writeSecret writes a password file named name into dir.
func writeSecret(t testing.TB, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeYAML writes a config file: the required db keys plus lines.
func writeYAML(t testing.TB, dir string, dbLines, lines []string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("db:\n")
	for _, l := range dbLines {
		b.WriteString("  " + l + "\n")
	}
	for _, l := range lines {
		b.WriteString(l + "\n")
	}
	path := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// layer is where a value comes from, lowest first.
type layer int

const (
	layerDefault layer = iota
	layerFile
	layerEnv
	layerFlag
)

func (l layer) String() string { return [...]string{"default", "file", "env", "flag"}[l] }

// field describes one config field in every layer: the file line (under
// db: when inDB), the variable, the flag, the value each layer sets and the
// value Config then prints.
type field struct {
	name       string
	inDB       bool
	yaml       string // "key: %s"
	env, flag  string
	set, shown [4]string // by layer; set[layerDefault] is unused
	get        func(Config) string
}

func fields(t *testing.T, dir string) []field {
	f1, f2, f3 := writeSecret(t, dir, "pw-file"), writeSecret(t, dir, "pw-env"), writeSecret(t, dir, "pw-flag")
	return []field{
		{name: "http.port", yaml: "http:\n  port: %s", env: "APP_HTTP_PORT", flag: "http-port",
			set: [4]string{"", "8081", "8082", "8083"}, shown: [4]string{"8080", "8081", "8082", "8083"},
			get: func(c Config) string { return fmt.Sprint(c.HTTP.Port) }},
		{name: "http.read_timeout", yaml: "http:\n  read_timeout: %s", env: "APP_HTTP_READ_TIMEOUT", flag: "http-read-timeout",
			set: [4]string{"", "6s", "7s", "8s"}, shown: [4]string{"5s", "6s", "7s", "8s"},
			get: func(c Config) string { return c.HTTP.ReadTimeout.String() }},
		{name: "http.write_timeout", yaml: "http:\n  write_timeout: %s", env: "APP_HTTP_WRITE_TIMEOUT", flag: "http-write-timeout",
			set: [4]string{"", "11s", "1m", "90s"}, shown: [4]string{"10s", "11s", "1m0s", "1m30s"},
			get: func(c Config) string { return c.HTTP.WriteTimeout.String() }},
		{name: "db.url", inDB: true, yaml: "url: %s", env: "APP_DB_URL", flag: "db-url",
			set:   [4]string{"", "postgres://app@file:5432/app", "postgres://app@env:5432/app", "postgres://app@flag:5432/app"},
			shown: [4]string{"", "postgres://app@file:5432/app", "postgres://app@env:5432/app", "postgres://app@flag:5432/app"},
			get:   func(c Config) string { return c.DB.URL }},
		{name: "db.password_file", inDB: true, yaml: "password_file: %s", env: "APP_DB_PASSWORD_FILE", flag: "db-password-file",
			set: [4]string{"", f1, f2, f3}, shown: [4]string{"", f1, f2, f3},
			get: func(c Config) string { return c.DB.PasswordFile }},
		{name: "allowed_origins", yaml: "allowed_origins: [%s]", env: "APP_ALLOWED_ORIGINS", flag: "allowed-origins",
			set:   [4]string{"", "https://file.example", "https://env.example,http://env2.example:8080", "https://flag.example"},
			shown: [4]string{"[]", "[https://file.example]", "[https://env.example http://env2.example:8080]", "[https://flag.example]"},
			get:   func(c Config) string { return fmt.Sprint(c.AllowedOrigins) }},
		{name: "log_level", yaml: "log_level: %s", env: "APP_LOG_LEVEL", flag: "log-level",
			set: [4]string{"", "warn", "error", "debug"}, shown: [4]string{"INFO", "WARN", "ERROR", "DEBUG"},
			get: func(c Config) string { return c.LogLevel.String() }},
		{name: "beta", yaml: "beta: %s", env: "APP_BETA", flag: "beta",
			set: [4]string{"", "true", "false", "true"}, shown: [4]string{"false", "true", "false", "true"},
			get: func(c Config) string { return fmt.Sprint(c.Beta) }},
	}
}

// TestLoaders_precedence checks flag > env > file > default for every
// field and every loader: each case sets the field in every layer up to
// top, with a different value per layer, and expects top's value.
func TestLoaders_precedence(t *testing.T) {
	dir := t.TempDir()
	baseDB := map[string]string{"url": "postgres://app@base:5432/app", "password_file": writeSecret(t, dir, "pw-base")}
	for _, l := range loaders() {
		for _, f := range fields(t, dir) {
			for top := layerDefault; top <= layerFlag; top++ {
				if top == layerDefault && f.inDB {
					continue // required: no default
				}
				t.Run(fmt.Sprintf("%s/%s/%s", l.name, f.name, top), func(t *testing.T) {
					testkit.UnsetPrefix(t, "APP_")
					db := map[string]string{"url": baseDB["url"], "password_file": baseDB["password_file"]}
					var lines []string
					if top >= layerFile {
						line := fmt.Sprintf(f.yaml, f.set[layerFile])
						if f.inDB {
							k, v, _ := strings.Cut(line, ": ")
							db[k] = v
						} else {
							lines = append(lines, line)
						}
					}
					path := writeYAML(t, t.TempDir(), []string{"url: " + db["url"], "password_file: " + db["password_file"]}, lines)
					if top >= layerEnv {
						t.Setenv(f.env, f.set[layerEnv])
					}
					args := []string{"--config=" + path}
					if top >= layerFlag {
						args = append(args, "--"+f.flag+"="+f.set[layerFlag])
					}
					cfg, err := l.load(args)
					if err != nil {
						t.Fatal(err)
					}
					if got := f.get(cfg); got != f.shown[top] {
						t.Errorf("%s = %s, want %s (from the %s)", f.name, got, f.shown[top], top)
					}
				})
			}
		}
	}
}

func TestRun_prints_the_same_config_from_every_loader(t *testing.T) {
	testkit.UnsetPrefix(t, "APP_")
	dir := t.TempDir()
	path := writeYAML(t, dir, []string{"url: postgres://app@localhost:5432/app",
		"password_file: " + writeSecret(t, dir, "pw")}, []string{"allowed_origins: [https://example.com]"})
	t.Setenv("APP_HTTP_PORT", "9090")
	var out bytes.Buffer
	if err := run([]string{"--config", path, "--log-level=debug"}, &out); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf("{HTTP:{Port:9090 ReadTimeout:5s WriteTimeout:10s} "+
		"DB:{URL:postgres://app@localhost:5432/app PasswordFile:%s/pw Password:[REDACTED]} "+
		"AllowedOrigins:[https://example.com] LogLevel:DEBUG Beta:false}", dir)
	want := "stdlib    " + cfg + "\n" + "viper     " + cfg + "\n" + "envconfig " + cfg + "\n" + "env       " + cfg + "\n" + "koanf     " + cfg + "\n" +
		"level=INFO msg=\"config loaded\" config.http.port=9090 config.http.read_timeout=5s " +
		"config.http.write_timeout=10s config.db.url=postgres://app@localhost:5432/app " +
		"config.db.password_file=" + dir + "/pw config.db.password=[REDACTED] " +
		"config.allowed_origins=[https://example.com] config.log_level=debug config.beta=false\n"
	if got := out.String(); got != want {
		t.Errorf("output:\n got %s\nwant %s", got, want)
	}
}

func TestLoaders_read_the_secret_and_never_print_it(t *testing.T) {
	testkit.UnsetPrefix(t, "APP_")
	dir := t.TempDir()
	path := writeYAML(t, dir, []string{"url: postgres://app@localhost:5432/app",
		"password_file: " + writeSecret(t, dir, "pw")}, nil)
	for _, l := range loaders() {
		cfg, err := l.load([]string{"--config", path})
		if err != nil {
			t.Fatalf("%s: %v", l.name, err)
		}
		if string(cfg.DB.Password) != secret {
			t.Errorf("%s: password = %q, want the file's content", l.name, string(cfg.DB.Password))
		}
		var logged bytes.Buffer
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "config", cfg, "raw", cfg.DB)
		asJSON, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for how, s := range map[string]string{
			"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", cfg), "%#v": fmt.Sprintf("%#v", cfg),
			"slog": logged.String(), "json": string(asJSON),
		} {
			if strings.Contains(s, secret) {
				t.Errorf("%s: %s shows the secret: %s", l.name, how, s)
			}
			if !strings.Contains(s, "[REDACTED]") {
				t.Errorf("%s: %s lacks [REDACTED]: %s", l.name, how, s)
			}
		}
	}
}

func TestLoaders_reject_bad_input(t *testing.T) {
	tests := []struct {
		name  string
		yaml  []string // lines after the db section
		noURL bool     // leave db.url out of the file
		env   map[string]string
		args  []string
		want  map[string][]string // loader -> parts of the error; "*" for all
	}{
		{name: "rejects_port_abc", env: map[string]string{"APP_HTTP_PORT": "abc"}, want: map[string][]string{
			"stdlib":    {`APP_HTTP_PORT="abc": invalid syntax`},
			"viper":     {`'http.port' cannot parse value as 'int'`},
			"koanf":     {`'http.port' cannot parse value as 'int'`},
			"envconfig": {"assigning APP_HTTP_PORT to Port: converting 'abc' to type int"},
			"env":       {`parse error on field "Port" of type "int": strconv.ParseInt: parsing "abc"`},
		}},
		{name: "rejects_timeout_without_unit", env: map[string]string{"APP_HTTP_READ_TIMEOUT": "5"}, want: map[string][]string{
			"stdlib":    {`APP_HTTP_READ_TIMEOUT="5": time: missing unit in duration "5"`},
			"viper":     {"'http.read_timeout' time: missing unit in duration"},
			"koanf":     {"'http.read_timeout' time: missing unit in duration"},
			"envconfig": {"assigning APP_HTTP_READ_TIMEOUT to ReadTimeout: converting '5'"},
			"env":       {`field "ReadTimeout"`, `time: missing unit in duration "5"`},
		}},
		{name: "rejects_timeout_without_unit_in_yaml", yaml: []string{"http:", "  read_timeout: 5"}, want: map[string][]string{
			"stdlib": {"cannot unmarshal !!int `5` into time.Duration"}, "envconfig": {"!!int `5`"}, "env": {"!!int `5`"},
			// viper reads the YAML int 5 as 5ns; only validation catches it.
			"viper": {"http.read_timeout: 5ns is under 1ms (a number without a unit?)"},
			"koanf": {"http.read_timeout: 5ns is under 1ms (a number without a unit?)"},
		}},
		{name: "rejects_unknown_log_level", env: map[string]string{"APP_LOG_LEVEL": "verbose"}, want: map[string][]string{
			"*": {`"verbose" is not a log level`},
		}},
		{name: "rejects_unknown_flag_value", args: []string{"--log-level=verbose"}, want: map[string][]string{
			"*":     {`flags: invalid value "verbose" for flag -log-level: "verbose" is not a log level`},
			"viper": {`'log_level' "verbose" is not a log level`},
			"koanf": {`'log_level' "verbose" is not a log level`},
		}},
		{name: "rejects_missing_required_value", noURL: true, want: map[string][]string{
			"*": {"db.url: required"},
		}},
		{name: "rejects_unreadable_secret_file", env: map[string]string{"APP_DB_PASSWORD_FILE": "/nonexistent/pw"}, want: map[string][]string{
			"*": {"db.password_file: open /nonexistent/pw: no such file or directory"},
		}},
		{name: "rejects_malformed_yaml", yaml: []string{"http: [port: 8080"}, want: map[string][]string{
			"*": {"yaml: line"},
		}},
		{name: "rejects_unknown_key", yaml: []string{"htpp:", "  port: 1"}, want: map[string][]string{
			"stdlib": {"field htpp not found"}, "envconfig": {"field htpp not found"}, "env": {"field htpp not found"},
			"viper": {"invalid keys: htpp"}, "koanf": {"invalid keys: htpp"},
		}},
		{name: "reports_validation_problems_together", env: map[string]string{
			"APP_HTTP_PORT": "70000", "APP_DB_URL": "postgres://app:" + secret + "@db/app",
			"APP_ALLOWED_ORIGINS": "https://ok.example,example.com/path"}, want: map[string][]string{
			"*": {"http.port: 70000 is out of range", "db.url: carries a password",
				`allowed_origins: "example.com/path" is not scheme://host[:port]`},
		}},
	}
	for _, tt := range tests {
		for _, l := range loaders() {
			t.Run(tt.name+"/"+l.name, func(t *testing.T) {
				testkit.UnsetPrefix(t, "APP_")
				dir := t.TempDir()
				db := []string{"url: postgres://app@localhost:5432/app", "password_file: " + writeSecret(t, dir, "pw")}
				if tt.noURL {
					db = db[1:]
				}
				path := writeYAML(t, dir, db, tt.yaml)
				for k, v := range tt.env {
					t.Setenv(k, v)
				}
				_, err := l.load(append([]string{"--config", path}, tt.args...))
				if err == nil {
					t.Fatal("no error")
				}
				want := tt.want[l.name]
				if want == nil {
					want = tt.want["*"]
				}
				for _, w := range want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\nlacks %q", err, w)
					}
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error shows the secret: %v", err)
				}
			})
		}
	}
}

func TestRun_help_lists_the_flags(t *testing.T) {
	testkit.UnsetPrefix(t, "APP_")
	var out bytes.Buffer
	if err := run([]string{"--help"}, &out); err != nil {
		t.Fatalf("run --help: %v", err)
	}
	for _, line := range []string{
		"Usage of 04-compare (write flags as --name=value):",
		`    	YAML config file (default "06-config/04-compare/config.yaml")`,
		"  -http-port int",
		"    	listen port (default 8080)",
		"    	debug, info, warn or error (default info)",
	} {
		if !strings.Contains(out.String(), line+"\n") {
			t.Errorf("usage lacks %q:\n%s", line, out.String())
		}
	}
}

func TestRun_rejects_a_bad_flag_naming_it(t *testing.T) {
	testkit.UnsetPrefix(t, "APP_")
	var out bytes.Buffer
	err := run([]string{"--http-port=abc"}, &out)
	if err == nil || !strings.Contains(err.Error(), `stdlib: flags: invalid value "abc" for flag -http-port`) {
		t.Errorf("run --http-port=abc: %v, want the flag and the value named", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed a config despite a bad flag: %s", out.String())
	}
}
