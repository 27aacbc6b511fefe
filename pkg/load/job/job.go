// Package job runs a load scenario as a Kubernetes Job of attacker pods and collects their
// reports from the pods' logs.
package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/trafficctl/trafficctl/pkg/kube"
	"github.com/trafficctl/trafficctl/pkg/load"
)

// ImageRepository is where the trafficctl image (deploy/trafficctl, `make images`) lives.
const ImageRepository = "ghcr.io/trafficctl/trafficctl"

// Image is the attacker image of a trafficctl release: `load job` uses its own version's, so a
// release runs the same release in the cluster (the tag `make images` gives the image).
func Image(version string) string { return ImageRepository + ":" + version }

const (
	// DefaultServiceAccount is the attackers' identity: the one deploy/emojivoto's default-deny
	// policy lets call web. Render creates it when missing.
	DefaultServiceAccount = "loadtest"
	// AttackerContainer is the name of the container whose log holds a replica's report.
	AttackerContainer = "attacker"
	scenarioMount     = "/etc/trafficctl"
	scenarioKey       = "scenario.yaml"
)

// ErrNotFinished is returned by Collect while attackers are still running.
var ErrNotFinished = errors.New("load job not finished")

// MaxScenarioBytes is the most scenario a Job's ConfigMap can carry: the API server refuses a
// ConfigMap whose data passes 1 MiB, so a larger scenario is refused before anything is applied.
const MaxScenarioBytes = 1 << 20

// ErrScenarioTooLarge means the scenario does not fit in the Job's ConfigMap.
var ErrScenarioTooLarge = errors.New("scenario too large for a ConfigMap")

// Options describe a load job.
type Options struct {
	Name, Namespace, Image string
	// ServiceAccount the attackers run as (their mesh identity); default DefaultServiceAccount.
	ServiceAccount string
	Replicas       int32
	// Scenario is the scenario file as written; it travels in a ConfigMap.
	Scenario   []byte
	Thresholds load.Thresholds
}

// check refuses, before anything is rendered, what the API server or the attackers would.
func (o *Options) check() error {
	if o.Replicas < 1 {
		return fmt.Errorf("replicas must be at least 1")
	}
	if o.Image == "" {
		return fmt.Errorf("the attacker image is required")
	}
	if len(o.Scenario) > MaxScenarioBytes {
		return fmt.Errorf("%w: it is %d bytes and the API server takes at most %d: move large bodies or targets into the image, or split the scenario", ErrScenarioTooLarge, len(o.Scenario), MaxScenarioBytes)
	}
	return nil
}

// Render returns the attackers' ServiceAccount, the ConfigMap holding the scenario and an
// Indexed Job of Replicas attacker pods, each running the whole scenario (so the total load is
// Replicas times the scenario's rates) and printing its JSON report, histograms included, to
// its log.
func Render(o Options) ([]*unstructured.Unstructured, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	if o.ServiceAccount == "" {
		o.ServiceAccount = DefaultServiceAccount
	}
	th, err := json.Marshal(o.Thresholds)
	if err != nil {
		return nil, err
	}
	labels := map[string]string{
		kube.LabelName:      "trafficctl-load",
		kube.LabelInstance:  o.Name,
		kube.LabelManagedBy: kube.ManagedBy,
	}
	sa := &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: metav1.ObjectMeta{Name: o.ServiceAccount, Namespace: o.Namespace},
	}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: labels},
		Data:       map[string]string{scenarioKey: string(o.Scenario)},
	}
	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name: o.Name, Namespace: o.Namespace, Labels: labels,
			Annotations: map[string]string{kube.AnnotationLoadThresholds: string(th)},
		},
		Spec: batchv1.JobSpec{
			Parallelism:    ptr.To(o.Replicas),
			Completions:    ptr.To(o.Replicas),
			CompletionMode: ptr.To(batchv1.IndexedCompletion),
			// A failed attacker is a result, not something to retry: a retry would add load.
			BackoffLimit:            ptr.To(int32(0)),
			TTLSecondsAfterFinished: ptr.To(int32(3600)),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: labels,
					// The proxy runs as a native sidecar, so it exits with the attack and the Job completes.
					Annotations: map[string]string{"config.alpha.linkerd.io/proxy-enable-native-sidecar": "true"},
				},
				Spec: corev1.PodSpec{
					RestartPolicy:      corev1.RestartPolicyNever,
					ServiceAccountName: o.ServiceAccount,
					// The identity is for the mesh; the attackers never call the API server.
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To(int64(65532)),
						RunAsGroup:     ptr.To(int64(65532)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  AttackerContainer,
						Image: o.Image,
						// Thresholds are checked on the merged result by `load collect`, so a
						// replica reports and exits 0 whatever its own figures.
						Args: []string{"load", "run", scenarioMount + "/" + scenarioKey, "-o", "json", "--fail-on-breach=false"},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("256Mi")},
						},
						VolumeMounts: []corev1.VolumeMount{{Name: "scenario", MountPath: scenarioMount, ReadOnly: true}},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
					Volumes: []corev1.Volume{{
						Name: "scenario",
						VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
							LocalObjectReference: corev1.LocalObjectReference{Name: o.Name},
						}},
					}},
				},
			},
		},
	}
	var out []*unstructured.Unstructured
	for _, obj := range []runtime.Object{sa, cm, job} {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{Object: m}
		// Server-side apply with strict validation rejects the converter's null creationTimestamp.
		unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "spec", "template", "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u.Object, "status")
		out = append(out, u)
	}
	return out, nil
}

// LogReader opens the log of one container of a pod.
type LogReader func(ctx context.Context, namespace, pod, container string) (io.ReadCloser, error)

// PodLogs reads logs through the API server.
func PodLogs(kc kubernetes.Interface) LogReader {
	return func(ctx context.Context, namespace, pod, container string) (io.ReadCloser, error) {
		return kc.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container}).Stream(ctx)
	}
}

// Collected is the merged result of a load job.
type Collected struct {
	Job        string                 `json:"job"`
	Replicas   int                    `json:"replicas"`
	Report     *load.Report           `json:"report"`
	Thresholds []load.ThresholdResult `json:"thresholds"`
	Passed     bool                   `json:"passed"`
}

// Collect reads the reports of a finished load job's attackers from their logs, merges them
// and checks the job's thresholds. It returns ErrNotFinished while attackers still run.
func Collect(ctx context.Context, kc kubernetes.Interface, logs LogReader, namespace, name string) (*Collected, error) {
	job, err := kc.BatchV1().Jobs(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("get job %s/%s: %w", namespace, name, err)
	}
	want := int32(1)
	if job.Spec.Completions != nil {
		want = *job.Spec.Completions
	}
	if job.Status.Succeeded+job.Status.Failed < want {
		return nil, fmt.Errorf("%w: %d of %d attackers done in job %s/%s; retry when it completes",
			ErrNotFinished, job.Status.Succeeded+job.Status.Failed, want, namespace, name)
	}
	pods, err := kc.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "batch.kubernetes.io/job-name=" + name})
	if err != nil {
		return nil, fmt.Errorf("list pods of job %s/%s: %w", namespace, name, err)
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	var reps []*load.Report
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodSucceeded {
			continue
		}
		rc, err := logs(ctx, namespace, p.Name, AttackerContainer)
		if err != nil {
			return nil, fmt.Errorf("read log of pod %s/%s: %w", namespace, p.Name, err)
		}
		rep, err := load.ReadReport(rc, load.DefaultLateThreshold)
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("pod %s/%s: %w", namespace, p.Name, err)
		}
		reps = append(reps, rep)
	}
	if len(reps) == 0 {
		return nil, fmt.Errorf("%w: no attacker of job %s/%s succeeded: see 'kubectl logs -n %s -l batch.kubernetes.io/job-name=%s'",
			load.ErrBadResults, namespace, name, namespace, name)
	}
	merged, err := load.MergeReports(reps)
	if err != nil {
		return nil, err
	}
	var th load.Thresholds
	if s := kube.Value(job.Annotations, kube.AnnotationLoadThresholds); s != "" {
		if err := json.Unmarshal([]byte(s), &th); err != nil {
			return nil, fmt.Errorf("job %s/%s: annotation %s: %w", namespace, name, kube.AnnotationLoadThresholds, err)
		}
	}
	c := &Collected{Job: name, Replicas: len(reps), Report: merged, Thresholds: th.Check(merged), Passed: true}
	for _, t := range c.Thresholds {
		c.Passed = c.Passed && t.Passed
	}
	return c, nil
}
