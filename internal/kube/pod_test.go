package kube

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

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
	check("apart container limited", apart.Resources.Limits.Memory().Cmp(resource.MustParse("256Mi")) == 0 && !apart.Stdin && !apart.TTY)
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

	res := ctr.Resources
	want := func(l corev1.ResourceList, name corev1.ResourceName, q string) {
		t.Helper()
		got := l[name]
		if got.Cmp(resource.MustParse(q)) != 0 {
			t.Errorf("%s = %s, want %s", name, got.String(), q)
		}
	}
	want(res.Requests, corev1.ResourceCPU, "10m")
	want(res.Requests, corev1.ResourceMemory, "80Mi") // the gVisor footprint
	want(res.Limits, corev1.ResourceCPU, "500m")
	want(res.Limits, corev1.ResourceMemory, "256Mi")

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
		{"auto", false, []isolation{{"gvisor", seccompGVisor}, {"gvisor", ""}, {"", seccompRunc}, {"", ""}}},
		{"runsc", false, []isolation{{"gvisor", seccompGVisor}, {"gvisor", ""}}},
		{"runc", false, []isolation{{"", seccompRunc}, {"", ""}}},
		{"runc", true, []isolation{{"", ""}}},
	} {
		c := testConfig()
		c.Isolation, c.EngineSeccomp = tc.isolation, tc.engine
		if got := c.candidates(); !slices.Equal(got, tc.want) {
			t.Errorf("%s (engine seccomp %v): %v, want %v", tc.isolation, tc.engine, got, tc.want)
		}
	}
}
