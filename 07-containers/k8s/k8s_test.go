// Package k8s checks the manifests of section 4.7 without a cluster: every
// file decoded strictly into k8s.io/api types, both overlays built with
// kustomize's Go API, and every pod spec evaluated against the Pod
// Security "restricted" level.
package k8s

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	psaapi "k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/kustomize/api/krusty"
	kusttypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// decoder decodes YAML into the typed objects of k8s.io/api and fails on an
// unknown or duplicated field: a misspelled readOnlyRootFileSystem would
// otherwise be dropped by kubectl apply without a word.
func decoder(t *testing.T) runtime.Decoder {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme,
		autoscalingv2.AddToScheme, policyv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	return json.NewSerializerWithOptions(json.DefaultMetaFactory, scheme, scheme,
		json.SerializerOptions{Yaml: true, Strict: true})
}

// decodeAll splits a multi-document YAML stream and decodes every document.
func decodeAll(t *testing.T, name string, data []byte) []runtime.Object {
	t.Helper()
	dec := decoder(t)
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var objs []runtime.Object
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := dec.Decode(doc, nil, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		objs = append(objs, obj)
	}
}

// Every manifest file, and every kustomization, decodes strictly.
func TestManifestsDecodeStrictly(t *testing.T) {
	files, err := filepath.Glob("*/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("overlays/*/*.yaml")
	files = append(files, more...)
	if len(files) < 10 {
		t.Fatalf("found only %d manifests: %v", len(files), files)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(f) == "kustomization.yaml" {
			var k kusttypes.Kustomization
			if err := yaml.UnmarshalStrict(data, &k); err != nil {
				t.Errorf("%s: %v", f, err)
			}
			continue
		}
		if objs := decodeAll(t, f, data); len(objs) == 0 {
			t.Errorf("%s: no object", f)
		}
	}
}

func TestStrictDecodingRejectsTypos(t *testing.T) {
	data, err := os.ReadFile("base/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	typo := strings.Replace(string(data), "readOnlyRootFilesystem", "readOnlyRootFileSystem", 1)
	if _, _, err := decoder(t).Decode([]byte(typo), nil, nil); err == nil ||
		!strings.Contains(err.Error(), `unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem"`) {
		t.Errorf("a misspelled field decoded without error: %v", err)
	}
}

// build runs kustomize build on a directory with the Go API, as
// kubectl apply -k does, and decodes the result strictly.
func build(t *testing.T, dir string) []runtime.Object {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resources, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out, err := resources.AsYaml()
	if err != nil {
		t.Fatal(err)
	}
	return decodeAll(t, dir, out)
}

type overlay struct {
	deployments []*appsv1.Deployment
	app         *appsv1.Deployment
	config      *corev1.ConfigMap
	hpa         *autoscalingv2.HorizontalPodAutoscaler
	pdb         *policyv1.PodDisruptionBudget
	secrets     []*corev1.Secret
	namespaces  []*corev1.Namespace
	namespace   string // of the app
}

func buildOverlay(t *testing.T, dir string) overlay {
	t.Helper()
	var o overlay
	for _, obj := range build(t, dir) {
		switch v := obj.(type) {
		case *appsv1.Deployment:
			o.deployments = append(o.deployments, v)
			if v.Name == "app" {
				o.app, o.namespace = v, v.Namespace
			}
		case *corev1.ConfigMap:
			if strings.HasPrefix(v.Name, "app-config") {
				o.config = v
			}
		case *autoscalingv2.HorizontalPodAutoscaler:
			o.hpa = v
		case *policyv1.PodDisruptionBudget:
			o.pdb = v
		case *corev1.Secret:
			o.secrets = append(o.secrets, v)
		case *corev1.Namespace:
			o.namespaces = append(o.namespaces, v)
		}
	}
	if o.app == nil || o.config == nil {
		t.Fatalf("%s: no Deployment app or ConfigMap app-config", dir)
	}
	return o
}

var overlays = []string{"overlays/dev", "overlays/prod"}

func TestOverlaysBuild(t *testing.T) {
	t.Run("dev", func(t *testing.T) {
		o := buildOverlay(t, "overlays/dev")
		if o.namespace != "app-dev" || o.app.Spec.Replicas == nil || *o.app.Spec.Replicas != 1 {
			t.Errorf("app: namespace %q, replicas %v, want 1 (no HPA in dev)", o.namespace, o.app.Spec.Replicas)
		}
		if o.hpa != nil || o.pdb != nil {
			t.Errorf("dev runs one replica: no HPA, no PDB (a PDB of minAvailable 1 blocks drains)")
		}
		if len(o.secrets) != 1 || string(o.secrets[0].Data["password"]) != "app" {
			t.Fatalf("dev secret: %v", o.secrets)
		}
		// The generated name has a hash suffix; the pod must mount that name.
		if got := o.app.Spec.Template.Spec.Volumes[0].Secret.SecretName; got != o.secrets[0].Name {
			t.Errorf("app mounts secret %q, the overlay generates %q", got, o.secrets[0].Name)
		}
		if got := o.config.Data["DATABASE_URL"]; got != "postgres://app@postgres:5432/app?sslmode=disable" {
			t.Errorf("dev DATABASE_URL = %s", got)
		}
		if len(o.deployments) != 3 {
			t.Errorf("dev: want app, postgres and redis Deployments, got %d", len(o.deployments))
		}
	})
	t.Run("prod", func(t *testing.T) {
		o := buildOverlay(t, "overlays/prod")
		c := o.app.Spec.Template.Spec.Containers[0]
		if o.namespace != "app-prod" || c.Image != "registry.example.com/part4/app:1.0.0" {
			t.Errorf("app: namespace %q, image %s", o.namespace, c.Image)
		}
		if len(o.secrets) != 0 {
			t.Errorf("prod must not apply the Secret template (it would overwrite the real one)")
		}
		if o.hpa == nil || *o.hpa.Spec.MinReplicas != 3 {
			t.Errorf("prod: want HPA minReplicas 3")
		}
		if got := c.Resources.Limits.Memory().String(); got != "256Mi" {
			t.Errorf("prod memory limit %s", got)
		}
	})
}

// The rules of the base Deployment that every overlay keeps.
func TestPodRules(t *testing.T) {
	for _, dir := range overlays {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			o := buildOverlay(t, dir)
			spec := o.app.Spec.Template.Spec
			c := spec.Containers[0]
			if c.StartupProbe == nil || c.LivenessProbe == nil || c.ReadinessProbe == nil {
				t.Fatal("app: want startup, liveness and readiness probes")
			}
			// Liveness must not depend on the database: a restart storm.
			if p := c.LivenessProbe.HTTPGet.Path; p != "/livez" {
				t.Errorf("livenessProbe path %s, want /livez (process only)", p)
			}
			if p := c.ReadinessProbe.HTTPGet.Path; p != "/readyz" {
				t.Errorf("readinessProbe path %s, want /readyz", p)
			}
			if c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero() {
				t.Errorf("app: want CPU requests and a memory limit")
			}
			// GOMEMLIMIT is fed from the memory limit through the Downward API.
			var memEnv bool
			for _, e := range c.Env {
				if e.Name == "MEMORY_LIMIT" && e.ValueFrom != nil && e.ValueFrom.ResourceFieldRef != nil &&
					e.ValueFrom.ResourceFieldRef.Resource == "limits.memory" {
					memEnv = true
				}
			}
			if !memEnv {
				t.Errorf("app: want MEMORY_LIMIT from resourceFieldRef limits.memory")
			}
			// No shell in the image: preStop must be the native sleep action.
			if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil ||
				c.Lifecycle.PreStop.Exec != nil {
				t.Fatal("app: want lifecycle.preStop.sleep (distroless has no sleep binary)")
			}
			// The whole shutdown fits in the grace period, or SIGKILL cuts it.
			budget := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second +
				duration(t, o.config, "SHUTDOWN_DELAY") + duration(t, o.config, "SHUTDOWN_TIMEOUT") +
				5*time.Second // trace flush in telemetry.shutdown
			grace := time.Duration(*spec.TerminationGracePeriodSeconds) * time.Second
			if budget >= grace {
				t.Errorf("shutdown needs %s, terminationGracePeriodSeconds is %s", budget, grace)
			}
			// An HPA owns the replica count: a Deployment that also sets
			// it resets the HPA's choice on every re-apply.
			replicas := int32(1) // the API server's default
			switch {
			case o.hpa != nil && o.app.Spec.Replicas != nil:
				t.Errorf("the Deployment sets replicas: %d although an HPA owns the count", *o.app.Spec.Replicas)
				replicas = *o.hpa.Spec.MinReplicas
			case o.hpa != nil:
				replicas = *o.hpa.Spec.MinReplicas
			case o.app.Spec.Replicas != nil:
				replicas = *o.app.Spec.Replicas
			}
			if o.pdb != nil && o.pdb.Spec.MinAvailable != nil &&
				o.pdb.Spec.MinAvailable.IntValue() >= int(replicas) {
				t.Errorf("PDB minAvailable %s with %d replicas blocks every drain",
					o.pdb.Spec.MinAvailable.String(), replicas)
			}
			for _, ns := range o.namespaces {
				if ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
					t.Errorf("namespace %s does not enforce the restricted profile", ns.Name)
				}
			}
		})
	}
}

func duration(t *testing.T, cm *corev1.ConfigMap, key string) time.Duration {
	t.Helper()
	d, err := time.ParseDuration(cm.Data[key])
	if err != nil {
		t.Fatalf("ConfigMap %s: %s: %v", cm.Name, key, err)
	}
	return d
}

// Every pod template of both overlays passes the restricted level, as the
// admission controller of a namespace labelled enforce=restricted checks it.
func TestPodSecurityRestricted(t *testing.T) {
	eval, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range overlays {
		for _, d := range buildOverlay(t, dir).deployments {
			t.Run(filepath.Base(dir)+"/"+d.Name, func(t *testing.T) {
				if err := restricted(eval, &d.Spec.Template); err != nil {
					t.Error(err)
				}
			})
		}
	}
	// The evaluator does reject: the app without its container settings.
	d := buildOverlay(t, "overlays/prod").app
	d.Spec.Template.Spec.Containers[0].SecurityContext = nil
	err = restricted(eval, &d.Spec.Template)
	if err == nil || !strings.Contains(err.Error(), "allowPrivilegeEscalation != false") {
		t.Errorf("a container without securityContext passed: %v", err)
	}
}

func restricted(eval policy.Evaluator, tpl *corev1.PodTemplateSpec) error {
	lv := psaapi.LevelVersion{Level: psaapi.LevelRestricted, Version: psaapi.LatestVersion()}
	res := policy.AggregateCheckResults(eval.EvaluatePod(lv, &tpl.ObjectMeta, &tpl.Spec))
	if !res.Allowed {
		return fmt.Errorf("restricted: %s: %s", res.ForbiddenReason(), res.ForbiddenDetail())
	}
	return nil
}
