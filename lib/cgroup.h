/*
 * cgroup.h - which cgroup a process is in, and which container that names:
 * pure functions over the text of /proc/PID/cgroup and over a cgroup path.
 */
#ifndef MODMAP_CGROUP_H
#define MODMAP_CGROUP_H

#include <stddef.h>

#define CONTAINER_ID_LEN 64

/*
 * The process's cgroup path from the text of /proc/PID/cgroup: the cgroup
 * v2 entry ("0::/path"); on a host with v1 hierarchies only, the
 * name=systemd one, else the first hierarchy's. Sets *path and *len to the
 * path inside text; returns 0, or -1 when the text holds no entry.
 */
int cgroup_path(const char *text, size_t len, const char **path, size_t *plen);

/*
 * The container ID in a cgroup path: the 64 lowercase hex digits that
 * Docker (docker-ID.scope, /docker/ID), containerd (cri-containerd-ID.scope),
 * CRI-O (crio-ID.scope), Podman (libpod-ID.scope) and Kubernetes with the
 * cgroupfs driver (/kubepods/.../pod.../ID) name a container's cgroup by.
 * The outermost component that is one wins: a process can make cgroups
 * below its own (delegation), never above, so an inner ID is its choice. Writes it and a NUL to out and
 * returns 0, or returns -1 (out "") when the path names no container.
 */
int cgroup_container_id(const char *path, size_t len, char out[CONTAINER_ID_LEN + 1]);

#endif
