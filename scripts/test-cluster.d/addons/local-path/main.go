// local-path: the dynamic provisioner of the test cluster's real node. Each PersistentVolumeClaim
// of its StorageClass gets a directory under -root, as a `local` PersistentVolume pinned to the
// node; deleting the volume removes the directory.
//
// A StorageClass with the parameter filesystem: xfs gets a file system of the claim's size
// instead: an XFS image file beside the directory, loop-mounted on it, so the claim really fills
// up at its size; and a claim of such a class whose request grows is expanded online (the image
// grown, the loop device told, xfs_growfs), its PersistentVolume's and claim's capacity updated,
// as a CSI driver with online expansion does. XFS because growing a mounted ext4 needs
// CAP_SYS_RESOURCE, which the machines this runs on lack; XFS's needs CAP_SYS_ADMIN.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/sig-storage-lib-external-provisioner/v11/controller"
)

type hostDirs struct {
	root string
	node string
}

func (h hostDirs) Provision(_ context.Context, opts controller.ProvisionOptions) (*v1.PersistentVolume, controller.ProvisioningState, error) {
	if opts.SelectedNode != nil && opts.SelectedNode.Name != h.node {
		return nil, controller.ProvisioningFinished, fmt.Errorf("node %q is not %q, the only node this provisioner serves", opts.SelectedNode.Name, h.node)
	}
	dir := filepath.Join(h.root, fmt.Sprintf("%s_%s_%s", opts.PVC.Namespace, opts.PVC.Name, opts.PVName))
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	if opts.StorageClass.Parameters["filesystem"] == "xfs" {
		size := opts.PVC.Spec.Resources.Requests[v1.ResourceStorage]
		if err := sizedFilesystem(dir, size); err != nil {
			return nil, controller.ProvisioningFinished, err
		}
	}
	// world-writable as the pods' users differ; umask would narrow MkdirAll's mode
	if err := os.Chmod(dir, 0o777); err != nil {
		return nil, controller.ProvisioningFinished, err
	}
	reclaim := v1.PersistentVolumeReclaimDelete
	if opts.StorageClass.ReclaimPolicy != nil {
		reclaim = *opts.StorageClass.ReclaimPolicy
	}
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: opts.PVName},
		Spec: v1.PersistentVolumeSpec{
			PersistentVolumeReclaimPolicy: reclaim,
			AccessModes:                   opts.PVC.Spec.AccessModes,
			VolumeMode:                    opts.PVC.Spec.VolumeMode,
			MountOptions:                  opts.StorageClass.MountOptions,
			Capacity:                      v1.ResourceList{v1.ResourceStorage: opts.PVC.Spec.Resources.Requests[v1.ResourceStorage]},
			PersistentVolumeSource:        v1.PersistentVolumeSource{Local: &v1.LocalVolumeSource{Path: dir}},
			NodeAffinity: &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
				MatchExpressions: []v1.NodeSelectorRequirement{{
					Key: "kubernetes.io/hostname", Operator: v1.NodeSelectorOpIn, Values: []string{h.node},
				}},
			}}}},
		},
	}
	return pv, controller.ProvisioningFinished, nil
}

func (h hostDirs) Delete(_ context.Context, pv *v1.PersistentVolume) error {
	if pv.Spec.Local == nil {
		return fmt.Errorf("volume %s is not a local volume", pv.Name)
	}
	dir := filepath.Clean(pv.Spec.Local.Path)
	if !strings.HasPrefix(dir, filepath.Clean(h.root)+string(filepath.Separator)) {
		return fmt.Errorf("volume %s: path %s is outside %s; not removing it", pv.Name, dir, h.root)
	}
	if _, err := os.Stat(dir + ".img"); err == nil {
		if err := run("umount", dir); err != nil && !strings.Contains(err.Error(), "not mounted") {
			return err
		}
		if err := os.Remove(dir + ".img"); err != nil {
			return err
		}
	}
	return os.RemoveAll(dir)
}

// XFS refuses smaller file systems.
var xfsMinimum = resource.MustParse("300Mi")

// sizedFilesystem makes an XFS image of `size` beside dir and mounts it on dir.
func sizedFilesystem(dir string, size resource.Quantity) error {
	if size.Cmp(xfsMinimum) < 0 {
		return fmt.Errorf("a claim of filesystem xfs needs at least %s, not %s", xfsMinimum.String(), size.String())
	}
	image := dir + ".img"
	if err := grow(image, size.Value()); err != nil {
		return err
	}
	if err := run("mkfs.xfs", "-q", image); err != nil {
		return err
	}
	return run("mount", "-o", "loop", image, dir)
}

func grow(image string, bytes int64) error {
	f, err := os.OpenFile(image, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Truncate(bytes)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// expandLoop grows the sized volumes whose claims ask for more, every 2 s.
func expandLoop(ctx context.Context, client kubernetes.Interface, provisioner string) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		pvs, err := client.CoreV1().PersistentVolumes().List(ctx, metav1.ListOptions{})
		if err != nil {
			continue
		}
		for i := range pvs.Items {
			if err := expand(ctx, client, &pvs.Items[i], provisioner); err != nil {
				klog.Errorf("expanding %s: %v", pvs.Items[i].Name, err)
			}
		}
	}
}

func expand(ctx context.Context, client kubernetes.Interface, pv *v1.PersistentVolume, provisioner string) error {
	if pv.Spec.Local == nil || pv.Spec.ClaimRef == nil || pv.Annotations["pv.kubernetes.io/provisioned-by"] != provisioner {
		return nil
	}
	image := pv.Spec.Local.Path + ".img"
	if _, err := os.Stat(image); err != nil {
		return nil
	}
	ref := pv.Spec.ClaimRef
	pvc, err := client.CoreV1().PersistentVolumeClaims(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	want := pvc.Spec.Resources.Requests[v1.ResourceStorage]
	have := pv.Spec.Capacity[v1.ResourceStorage]
	if want.Cmp(have) <= 0 {
		return nil
	}
	if err := grow(image, want.Value()); err != nil {
		return err
	}
	out, err := exec.Command("losetup", "-j", image).Output()
	device, _, found := strings.Cut(string(out), ":")
	if err != nil || !found {
		return fmt.Errorf("no loop device of %s: %v", image, err)
	}
	if err := run("losetup", "-c", device); err != nil {
		return err
	}
	if err := run("xfs_growfs", pv.Spec.Local.Path); err != nil {
		return err
	}
	pv.Spec.Capacity[v1.ResourceStorage] = want
	if _, err := client.CoreV1().PersistentVolumes().Update(ctx, pv, metav1.UpdateOptions{}); err != nil {
		return err
	}
	pvc.Status.Capacity = v1.ResourceList{v1.ResourceStorage: want}
	pvc.Status.Conditions = nil
	pvc.Status.AllocatedResources = nil
	pvc.Status.AllocatedResourceStatuses = nil
	_, err = client.CoreV1().PersistentVolumeClaims(ref.Namespace).UpdateStatus(ctx, pvc, metav1.UpdateOptions{})
	klog.Infof("expanded %s (%s/%s) to %s", pv.Name, ref.Namespace, ref.Name, want.String())
	return err
}

func main() {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster")
	name := flag.String("provisioner", "kubectl-mlflow.test/local-path", "provisioner name, as in the StorageClass")
	root := flag.String("root", "", "directory holding the volumes")
	node := flag.String("node", "", "name of the node whose directories these are")
	klog.InitFlags(nil)
	flag.Parse()
	if *kubeconfig == "" || *root == "" || *node == "" {
		fmt.Fprintln(os.Stderr, "usage: local-path -kubeconfig FILE -root DIR -node NAME")
		os.Exit(2)
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		klog.Fatalf("kubeconfig %s: %v", *kubeconfig, err)
	}
	client := kubernetes.NewForConfigOrDie(config)
	if err := os.MkdirAll(*root, 0o755); err != nil {
		klog.Fatalf("volume root %s: %v", *root, err)
	}
	ctx := context.Background()
	go expandLoop(ctx, client, *name)
	pc := controller.NewProvisionController(ctx, client, *name, hostDirs{root: *root, node: *node},
		controller.LeaderElection(false))
	pc.Run(ctx)
}
