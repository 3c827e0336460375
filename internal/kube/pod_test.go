package kube

import (
	"os"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/yaml"

	"iexbox/internal/sandbox"
)

func testConfig() Config {
	return Config{Policy: sandbox.Default(), Instance: "test-1"}.withDefaults()
}

// TestPodHardening checks every hardening field of a sandbox Pod.
func TestPodHardening(t *testing.T) {
	c := testConfig()
	pod := c.pod(isolation{runtimeClass: "gvisor", seccomp: seccompGVisor}, "s1", 100002, 120, 40)
	spec := pod.Spec
	if pod.Name != "iexbox-s1" || pod.Labels[LabelInstance] != "test-1" || pod.Labels[LabelSession] != "s1" {
		t.Errorf("name %q labels %v", pod.Name, pod.Labels)
	}
	check := func(name string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s not set as required", name)
		}
	}
	check("restartPolicy Never", spec.RestartPolicy == corev1.RestartPolicyNever)
	check("terminationGracePeriodSeconds 0", spec.TerminationGracePeriodSeconds != nil && *spec.TerminationGracePeriodSeconds == 0)
	check("no service account token", spec.AutomountServiceAccountToken != nil && !*spec.AutomountServiceAccountToken)
	check("no service links", spec.EnableServiceLinks != nil && !*spec.EnableServiceLinks)
	check("no host namespaces", !spec.HostNetwork && !spec.HostPID && !spec.HostIPC)
	check("DNS policy None", spec.DNSPolicy == corev1.DNSNone && spec.DNSConfig != nil &&
		slices.Equal(spec.DNSConfig.Nameservers, []string{"127.0.0.1"}) && len(spec.DNSConfig.Searches) == 0)
	check("runtimeClassName gvisor", spec.RuntimeClassName != nil && *spec.RuntimeClassName == "gvisor")
	psc := spec.SecurityContext
	check("pod runAsNonRoot", psc.RunAsNonRoot != nil && *psc.RunAsNonRoot)
	check("pod uid and gid", *psc.RunAsUser == 100002 && *psc.RunAsGroup == 100002 && *psc.FSGroup == 100002)
	check("pod seccomp Localhost", psc.SeccompProfile.Type == corev1.SeccompProfileTypeLocalhost && *psc.SeccompProfile.LocalhostProfile == seccompGVisor)

	if len(spec.Containers) != 2 {
		t.Fatalf("%d containers, want the terminal's and the apart one", len(spec.Containers))
	}
	apart := spec.Containers[1]
	asc := apart.SecurityContext
	check("apart container as the second uid", apart.Name == apartContainer && *asc.RunAsUser == 100003 && *asc.RunAsGroup == 100003 && *asc.RunAsNonRoot)
	check("apart container hardened", !*asc.AllowPrivilegeEscalation && !*asc.Privileged && *asc.ReadOnlyRootFilesystem &&
		slices.Equal(asc.Capabilities.Drop, []corev1.Capability{"ALL"}) && asc.SeccompProfile.Type == corev1.SeccompProfileTypeLocalhost)
	check("apart container without a terminal", !apart.Stdin && !apart.TTY)
	check("apart container shares /tmp only", len(apart.VolumeMounts) == 1 && apart.VolumeMounts[0].Name == "tmp" && apart.VolumeMounts[0].MountPath == "/tmp")
	ctr := spec.Containers[0]
	check("stdin and tty", ctr.Stdin && ctr.TTY && !ctr.StdinOnce)
	check("image IfNotPresent", ctr.Image == "iexbox-sandbox:latest" && ctr.ImagePullPolicy == corev1.PullIfNotPresent)
	sc := ctr.SecurityContext
	check("no privilege escalation", sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation)
	check("not privileged", sc.Privileged != nil && !*sc.Privileged)
	check("read-only root", sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem)
	check("drop ALL", sc.Capabilities != nil && slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) && len(sc.Capabilities.Add) == 0)
	check("container runAsNonRoot", *sc.RunAsNonRoot && *sc.RunAsUser == 100002)
	check("container seccomp", sc.SeccompProfile.Type == corev1.SeccompProfileTypeLocalhost)

	mounts := map[string]string{}
	for _, m := range ctr.VolumeMounts {
		mounts[m.MountPath] = m.Name
	}
	for _, v := range spec.Volumes {
		ed := v.EmptyDir
		if ed == nil || ed.Medium != corev1.StorageMediumMemory || ed.SizeLimit == nil {
			t.Errorf("volume %s: want a size-limited memory emptyDir, got %+v", v.Name, v.VolumeSource)
			continue
		}
		size := map[string]string{"tmp": "64Mi", "home": "64Mi", "shm": "16Mi"}[v.Name]
		if ed.SizeLimit.Cmp(resource.MustParse(size)) != 0 {
			t.Errorf("volume %s size %s, want %s", v.Name, ed.SizeLimit, size)
		}
	}
	for path, name := range map[string]string{"/tmp": "tmp", "/home/iex": "home", "/dev/shm": "shm"} {
		if mounts[path] != name {
			t.Errorf("%s mounted from %q, want %q", path, mounts[path], name)
		}
	}
	cmd := strings.Join(ctr.Command, " ")
	for _, part := range []string{"ulimit -n 1024", "ulimit -p 64", "stty -echo cols 120 rows 40", "read -r _", `exec "$@"`} {
		if !strings.Contains(cmd, part) {
			t.Errorf("command %q lacks %q", cmd, part)
		}
	}
	if n := len(sandbox.IExCmd); len(ctr.Command) < n || !slices.Equal(ctr.Command[len(ctr.Command)-n:], sandbox.IExCmd) {
		t.Errorf("command %q does not end with the program", ctr.Command)
	}
	env := map[string]string{}
	for _, e := range ctr.Env {
		env[e.Name] = e.Value
	}
	if env["HOME"] != "/home/iex" || !strings.Contains(env["ERL_AFLAGS"], "+Bc") {
		t.Errorf("env %v", env)
	}
}

// TestPodResources: the Pod as a whole holds -memory and -cpus, as a
// Docker sandbox does, never twice that: with Pod-level resources one
// budget both containers share; without, a share each. The requests are
// the idle footprint and a sliver for the sleeping apart container.
func TestPodResources(t *testing.T) {
	c := testConfig() // 256 MiB, 0.5 CPU
	for _, tc := range []struct {
		name string
		iso  isolation
		// Pod totals as a node and a ResourceQuota count them.
		reqCPU, reqMem, limCPU, limMem string
		// Per container, without Pod-level resources.
		termMem, apartMem string
	}{
		{"pod-level gvisor", isolation{runtimeClass: "gvisor", podResources: true}, "11m", "88Mi", "500m", "256Mi", "", ""},
		{"pod-level runc", isolation{podResources: true}, "11m", "64Mi", "500m", "256Mi", "", ""},
		{"shares gvisor", isolation{runtimeClass: "gvisor"}, "11m", "88Mi", "500m", "256Mi", "160Mi", "96Mi"},
		{"shares runc", isolation{}, "11m", "64Mi", "500m", "256Mi", "160Mi", "96Mi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := c.pod(tc.iso, "r", 100002, 80, 24).Spec
			reqs, lims := podTotals(spec)
			for _, w := range []struct {
				what string
				got  resource.Quantity
				want string
			}{
				{"requests.cpu", reqs[corev1.ResourceCPU], tc.reqCPU},
				{"requests.memory", reqs[corev1.ResourceMemory], tc.reqMem},
				{"limits.cpu", lims[corev1.ResourceCPU], tc.limCPU},
				{"limits.memory", lims[corev1.ResourceMemory], tc.limMem},
			} {
				if w.got.Cmp(resource.MustParse(w.want)) != 0 {
					t.Errorf("pod %s = %s, want %s", w.what, w.got.String(), w.want)
				}
			}
			if (spec.Resources != nil) != tc.iso.podResources {
				t.Errorf("pod-level resources %+v", spec.Resources)
			}
			if tc.iso.podResources {
				return
			}
			for i, want := range []string{tc.termMem, tc.apartMem} {
				got := spec.Containers[i].Resources.Limits[corev1.ResourceMemory]
				if got.Cmp(resource.MustParse(want)) != 0 {
					t.Errorf("%s memory limit %s, want %s", spec.Containers[i].Name, got.String(), want)
				}
			}
		})
	}
}

// podTotals is what a Pod requests and is limited to as a whole: its own
// resources where it has them (they take precedence), else the sum of its
// containers'.
func podTotals(spec corev1.PodSpec) (reqs, lims corev1.ResourceList) {
	if spec.Resources != nil {
		return spec.Resources.Requests, spec.Resources.Limits
	}
	reqs, lims = corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range spec.Containers {
		for _, sum := range []struct{ to, from corev1.ResourceList }{{reqs, c.Resources.Requests}, {lims, c.Resources.Limits}} {
			for name, q := range sum.from {
				total := sum.to[name]
				total.Add(q)
				sum.to[name] = total
			}
		}
	}
	return reqs, lims
}

// TestPodRunc: no RuntimeClass, the node's default seccomp profile, the
// runc footprint as the request, and a writable root only when asked.
func TestPodRunc(t *testing.T) {
	c := testConfig()
	c.WritableRoot = true
	pod := c.pod(isolation{}, "s2", 100004, 80, 24)
	if pod.Spec.RuntimeClassName != nil {
		t.Errorf("runtimeClassName %q", *pod.Spec.RuntimeClassName)
	}
	if pod.Spec.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccomp %v", pod.Spec.SecurityContext.SeccompProfile)
	}
	if *pod.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem {
		t.Error("read-only root although WritableRoot")
	}
	got := pod.Spec.Containers[0].Resources.Requests[corev1.ResourceMemory]
	if got.Value() != footprintRunc {
		t.Errorf("memory request %s", got.String())
	}
}

// TestCandidates: the isolations Open tries, best first, per -runtime.
func TestCandidates(t *testing.T) {
	for _, tc := range []struct {
		isolation string
		engine    bool
		want      []isolation
	}{
		{"auto", false, []isolation{{"gvisor", seccompGVisor, false}, {"gvisor", "", false}, {"", seccompRunc, false}, {"", "", false}}},
		{"runsc", false, []isolation{{"gvisor", seccompGVisor, false}, {"gvisor", "", false}}},
		{"runc", false, []isolation{{"", seccompRunc, false}, {"", "", false}}},
		{"runc", true, []isolation{{"", "", false}}},
	} {
		c := testConfig()
		c.Isolation, c.EngineSeccomp = tc.isolation, tc.engine
		if got := c.candidates(); !slices.Equal(got, tc.want) {
			t.Errorf("%s (engine seccomp %v): %v, want %v", tc.isolation, tc.engine, got, tc.want)
		}
	}
}

// TestResourceQuotaExample: the shipped example quota admits as many
// sandboxes of the default size as its pod count says, by every resource
// it bounds, whatever the isolation and whether the cluster has Pod-level
// resources.
func TestResourceQuotaExample(t *testing.T) {
	f, err := os.Open("../../deploy/kubernetes/resourcequota.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var quota corev1.ResourceQuota
	if err := yaml.NewYAMLOrJSONDecoder(f, 4096).Decode(&quota); err != nil {
		t.Fatal(err)
	}
	hard := quota.Spec.Hard
	pods := hard[corev1.ResourcePods]
	n := pods.Value()
	c := testConfig()
	for _, iso := range []isolation{{runtimeClass: "gvisor", podResources: true}, {runtimeClass: "gvisor"}, {podResources: true}, {}} {
		reqs, lims := podTotals(c.pod(iso, "q", 100002, 80, 24).Spec)
		for name, per := range map[corev1.ResourceName]resource.Quantity{
			corev1.ResourceRequestsCPU:    reqs[corev1.ResourceCPU],
			corev1.ResourceRequestsMemory: reqs[corev1.ResourceMemory],
			corev1.ResourceLimitsCPU:      lims[corev1.ResourceCPU],
			corev1.ResourceLimitsMemory:   lims[corev1.ResourceMemory],
		} {
			bound, ok := hard[name]
			if !ok {
				t.Errorf("the quota does not bound %s", name)
				continue
			}
			if fits := bound.MilliValue() / per.MilliValue(); fits < n {
				t.Errorf("%+v: %s %s admits %d sandboxes of %s each, not the %d pods it allows", iso, name, bound.String(), fits, per.String(), n)
			}
		}
	}
}
