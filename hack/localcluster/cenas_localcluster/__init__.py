"""Local Kubernetes control plane for tests and the demo: etcd, kube-apiserver, kube-scheduler,
kube-controller-manager, fake GPU nodes and a node agent that runs pods as local processes."""
