//! The validator of rendered objects: silent on every example values file, and each rule trips
//! on the values that break it, at the values path that made the field.

use kubectl_mlflow_model::release::{prepare, Options};
use kubectl_mlflow_model::Source;
use kubectl_mlflow_test_support::values::{sets, values_files};

fn prepared(sources: &[Source]) -> Result<(), String> {
    prepare("mlflow", "ml", sources, &mut std::io::empty(), &Options { quick_start: true })
        .map(|_| ())
        .map_err(|p| p.to_string())
}

#[test]
fn every_example_values_file_passes() {
    for path in values_files() {
        let path = path.display().to_string();
        if let Err(problems) = prepared(&[Source::File(path.clone())]) {
            panic!("{path}: {problems}");
        }
    }
}

#[test]
fn each_rule_trips_at_its_values_path() {
    let cases: &[(&[&str], &str)] = &[
        (&["resources.limits.memory=lots"], "resources.limits.memory: \"lots\" is not a quantity"),
        (&["resources.requests.cpu=2", "resources.limits.cpu=1"], "resources.requests.cpu: the request is above the limit 1"),
        (&["resources.limits.gpu=1"], "resources.limits.gpu: \"gpu\" is not a resource name"),
        (&["env[0].value=x"], "env[0].name: no name"),
        (&["env[0].name=1A", "env[0].value=x"], "env[0].name: \"1A\" is not a valid environment variable name"),
        (&["env[0].name=A", "env[0].value=x", "env[1].name=A", "env[1].value=y"], "env[1].name: A is given twice"),
        (&["env[0].name=A", "env[0].valueFrom.secretKeyRef.key=k"], "env[0].valueFrom.secretKeyRef.name: no Secret named"),
        (&["env[0].name=A", "env[0].valueFrom.secretKeyRef.name=s", "env[0].valueFrom.secretKeyRef.key=a/b"], "env[0].valueFrom.secretKeyRef.key: \"a/b\" is not a valid key"),
        (&["env[0].name=A", "env[0].value=x", "env[0].valueFrom.fieldRef.fieldPath=metadata.name"], "env[0].valueFrom: value and valueFrom are both set"),
        (&["deploymentStrategy.type=Rolling"], "deploymentStrategy.type: \"Rolling\" is not one of Recreate, RollingUpdate"),
        (&["deploymentStrategy.type=Recreate", "deploymentStrategy.rollingUpdate.maxSurge=1"], "deploymentStrategy.rollingUpdate: may not be set with type Recreate"),
        (&["deploymentStrategy.type=RollingUpdate", "deploymentStrategy.rollingUpdate.maxSurge=0", "deploymentStrategy.rollingUpdate.maxUnavailable=0"], "deploymentStrategy.rollingUpdate.maxUnavailable: may not be 0"),
        (&["deploymentStrategy.type=RollingUpdate", "deploymentStrategy.rollingUpdate.maxSurge=lots"], "deploymentStrategy.rollingUpdate.maxSurge: \"lots\" is not a number or a percentage"),
        (&["storage.mountPath=/tmp"], "storage.mountPath: /tmp is mounted twice"),
        (&["podSecurityContext.runAsUser=-1"], "podSecurityContext.runAsUser: -1 is not a user or group id"),
        (&["securityContext.runAsGroup=-5"], "securityContext.runAsGroup: -5 is not a user or group id"),
        (&["podSecurityContext.fsGroupChangePolicy=Never"], "podSecurityContext.fsGroupChangePolicy: \"Never\" is not one of"),
        (&["securityContext.seccompProfile.type=Custom"], "securityContext.seccompProfile.type: \"Custom\" is not one of"),
        (&["securityContext.privileged=true"], "securityContext.allowPrivilegeEscalation: cannot be false with privileged: true"),
        (&["securityContext.procMount=Raw"], "securityContext.procMount: \"Raw\" is not one of Default, Unmasked"),
        (&["extraVolumeMounts[0].name=x", "extraVolumeMounts[0].mountPath=/x"], "extraVolumeMounts[0].name: no volume \"x\" in the pod"),
        (&["extraVolumes[0].name=x", "extraVolumes[0].emptyDir.medium=", "extraVolumeMounts[0].name=x", "extraVolumeMounts[0].mountPath=rel"], "extraVolumeMounts[0].mountPath: \"rel\" is not an absolute path"),
        (&["extraVolumes[0].name=x", "extraVolumes[0].emptyDir.medium=", "extraVolumeMounts[0].name=x", "extraVolumeMounts[0].mountPath=/x", "extraVolumeMounts[1].name=x", "extraVolumeMounts[1].mountPath=/x"], "extraVolumeMounts[1].mountPath: /x is mounted twice"),
        (&["extraVolumes[0].name=x", "extraVolumes[0].emptyDir.medium=", "extraVolumeMounts[0].name=x", "extraVolumeMounts[0].mountPath=/x", "extraVolumeMounts[0].subPath=../up"], "extraVolumeMounts[0].subPath: \"../up\" must be a relative path"),
        (&["extraVolumes[0].name=Bad_Name", "extraVolumes[0].emptyDir.medium="], "extraVolumes[0].name: \"Bad_Name\" is not a valid volume name"),
        (&["extraVolumes[0].name=tmp", "extraVolumes[0].emptyDir.medium="], "extraVolumes[0].name: volume \"tmp\" is defined twice"),
        (&["extraVolumes[0].name=x", "extraVolumes[0].emptyDir.medium=Disk"], "extraVolumes[0].emptyDir.medium: \"Disk\" is not a medium"),
        (&["extraVolumes[0].name=x", "extraVolumes[0].emptyDir.sizeLimit=big"], "extraVolumes[0].emptyDir.sizeLimit: \"big\" is not a quantity"),
        (&["extraVolumes[0].name=x", "extraVolumes[0].secret.defaultMode=1000"], "extraVolumes[0].secret.secretName: no Secret named"),
        (&["extraVolumes[0].name=x", "extraVolumes[0].secret.secretName=s", "extraVolumes[0].secret.defaultMode=1000"], "extraVolumes[0].secret.defaultMode: 1000 is not a file mode"),
        (&["extraVolumes[0].name=x", "extraVolumes[0].configMap.name=c", "extraVolumes[0].hostPath.path=/x"], "extraVolumes[0]: more than one volume type"),
        (&["extraContainers[0].name=side"], "extraContainers[0].image: no image"),
        (&["extraContainers[0].name=mlflow", "extraContainers[0].image=busybox"], "extraContainers[0].name: container \"mlflow\" is defined twice"),
        (&["extraContainers[0].name=side", "extraContainers[0].image=busybox", "extraContainers[0].imagePullPolicy=Sometimes"], "extraContainers[0].imagePullPolicy: \"Sometimes\" is not one of"),
        (&["extraContainers[0].name=side", "extraContainers[0].image=busybox", "extraContainers[0].ports[0].containerPort=70000"], "extraContainers[0].ports[0].containerPort: 70000 is not a port"),
        (&["extraContainers[0].name=side", "extraContainers[0].image=busybox", "extraContainers[0].ports[0].containerPort=80", "extraContainers[0].ports[0].protocol=HTTP"], "extraContainers[0].ports[0].protocol: \"HTTP\" is not one of TCP, UDP, SCTP"),
        (&["extraContainers[0].name=side", "extraContainers[0].image=busybox", "extraContainers[0].restartPolicy=Always"], "extraContainers[0].restartPolicy: only init containers"),
        (&["extraInitContainers[0].name=init", "extraInitContainers[0].image=busybox", "extraInitContainers[0].restartPolicy=Never"], "extraInitContainers[0].restartPolicy: \"Never\" is not one of Always"),
        (&["tolerations[0].operator=Maybe"], "tolerations[0].operator: \"Maybe\" is not one of Equal, Exists"),
        (&["tolerations[0].key=k", "tolerations[0].effect=NoRun"], "tolerations[0].effect: \"NoRun\" is not one of"),
        (&["tolerations[0].key=k", "tolerations[0].operator=Exists", "tolerations[0].value=v"], "tolerations[0].value: must be empty with operator Exists"),
        (&["tolerations[0].value=v"], "tolerations[0].operator: an empty key needs operator Exists"),
        (&["tolerations[0].key=k", "tolerations[0].tolerationSeconds=5"], "tolerations[0].tolerationSeconds: only applies to effect NoExecute"),
        (&["affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=zone", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=Within"], "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator: \"Within\" is not one of"),
        (&["affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].key=zone", "affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator=In"], "matchExpressions[0].values: operator In needs values"),
        (&["affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight=0", "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm.topologyKey=kubernetes.io/hostname"], "affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight: 0 is not a weight"),
        (&["affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchLabels.a=b"], "affinity.podAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey: no topology key"),
        (&["nodeSelector.bad key=x"], "nodeSelector.bad key: is not a valid label key"),
        (&["podLabels.tier=a b"], "podLabels.tier: \"a b\" is not a valid label value"),
        (&["podAnnotations.bad key=x"], "podAnnotations.bad key: is not a valid annotation key"),
        (&["service.annotations./x=y"], "service.annotations./x: is not a valid annotation key"),
        (&["imagePullSecrets[0].name="], "imagePullSecrets[0].name: no name"),
        (&["extraContainers[0].name=side", "extraContainers[0].image=busybox", "extraContainers[0].livenessProbe.periodSeconds=5"], "extraContainers[0].livenessProbe: give exactly one of exec, httpGet, tcpSocket and grpc"),
        (&["extraContainers[0].name=side", "extraContainers[0].image=busybox", "extraContainers[0].readinessProbe.tcpSocket.port=0"], "extraContainers[0].readinessProbe.tcpSocket.port: 0 is not a port"),
        (&["extraContainers[0].name=side", "extraContainers[0].image=busybox", "extraContainers[0].startupProbe.exec.command={ls}", "extraContainers[0].startupProbe.successThreshold=2"], "extraContainers[0].startupProbe.successThreshold: must be 1"),
        (&["envFrom[0].prefix=X_"], "envFrom[0]: give exactly one of configMapRef and secretRef"),
        (&["envFrom[0].secretRef.name=s", "envFrom[0].prefix=1X"], "envFrom[0].prefix: \"1X\" is not a valid environment variable prefix"),
        (&["storage.storageClassName=Fast_SSD"], "storage.storageClassName: \"Fast_SSD\" is not a valid StorageClass name"),
        (&["networkPolicy.enabled=true", "networkPolicy.additionalEgressRules[0].ports[0].protocol=ICMP"], "networkPolicy.additionalEgressRules[0].ports[0].protocol: \"ICMP\" is not one of"),
        (&["networkPolicy.enabled=true", "networkPolicy.additionalEgressRules[0].to[0].ipBlock.cidr=10.0.0.0"], "networkPolicy.additionalEgressRules[0].to[0].ipBlock.cidr: \"10.0.0.0\" is not a CIDR"),
        (&["networkPolicy.enabled=true", "networkPolicy.additionalEgressRules[0].ports[0].port=8000", "networkPolicy.additionalEgressRules[0].ports[0].endPort=80"], "networkPolicy.additionalEgressRules[0].ports[0].endPort: 80 must be at least port"),
        (&["namespace_rbac.extraRules[0].apiGroups={}", "namespace_rbac.extraRules[0].resources={pods}"], "namespace_rbac.extraRules[0].verbs: no verb"),
        (&["namespace_rbac.extraRules[0].verbs={get}", "namespace_rbac.extraRules[0].nonResourceURLs={/metrics}"], "namespace_rbac.extraRules[0].nonResourceURLs: a namespaced Role cannot grant non-resource URLs"),
        (&["cluster_rbac.extraRules[0].verbs={get}", "cluster_rbac.extraRules[0].resources={pods}"], "cluster_rbac.extraRules[0].apiGroups: resource rules need at least one API group"),
        (&["ingress.enabled=true", "ingress.hosts[0].host=mlflow.example.com", "ingress.hosts[0].paths[0].path=mlflow", "ingress.hosts[0].paths[0].pathType=Prefix"], "ingress.hosts[0].paths[0].path: \"mlflow\" must start with /"),
        (&["ingress.enabled=true", "ingress.className=Nginx_Class"], "ingress.className: \"Nginx_Class\" is not a valid IngressClass name"),
        (&["garbageCollection.enabled=true", "garbageCollection.resources.limits.memory=much"], "garbageCollection.resources.limits.memory: \"much\" is not a quantity"),
        (&["garbageCollection.enabled=true", "garbageCollection.extraVolumeMounts[0].name=gone", "garbageCollection.extraVolumeMounts[0].mountPath=/gone"], "garbageCollection.extraVolumeMounts[0].name: no volume \"gone\""),
        (&["fullnameOverride=1-mlflow"], "fullnameOverride: \"1-mlflow\" is not a valid name"),
    ];
    let mut failures = Vec::new();
    for (exprs, expected) in cases {
        match prepared(&sets(exprs)) {
            Ok(()) => failures.push(format!("{exprs:?}: accepted, expected {expected:?}")),
            Err(message) if !message.contains(expected) => {
                failures.push(format!("{exprs:?}: expected {expected:?} in:\n{message}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
