"""deploy/: the Kubernetes jobs and the Slurm array script parse, and run valid command lines of the kit."""
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from autograder.cli import parser
from autograder.course import Course

KIT = Course(Path(__file__).resolve().parents[1])
DEPLOY = KIT.root / "deploy"
INDEX = "$(JOB_COMPLETION_INDEX)"


def jobs():
    found = {}
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            assert document["apiVersion"] == "batch/v1" and document["kind"] == "Job", path
            found[path.name] = document
    return found


def the_container(job):
    containers = job["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def kit_command(argv):
    """The parsed arguments of ``python -m autograder ...``, checked as the command line would check them."""
    assert argv[:3] == ["python", "-m", "autograder"], argv
    args = parser().parse_args(argv[3:])  # exits (fails the test) on an invalid command line
    for lab in [getattr(args, "lab", None), *(getattr(args, "labs", None) or [])]:
        if lab:
            KIT.check_lab(lab)
    return args


def test_the_kubernetes_files_are_jobs():
    assert set(jobs()) == {"grade-job.yaml", "release-job.yaml"}


def test_the_indexed_job_gives_each_pod_its_own_share_of_one_lab():
    job = jobs()["grade-job.yaml"]
    spec, container = job["spec"], the_container(job)
    assert spec["completionMode"] == "Indexed"
    n = spec["completions"]
    assert n == spec["parallelism"] > 1
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    argv = container["command"] + container["args"]
    assert argv.count(INDEX) == 0 and sum(INDEX in a for a in argv) == 1  # the index is part of K/N
    shares = set()
    for index in range(n):
        args = kit_command([a.replace(INDEX, str(index)) for a in argv])
        assert args.command == "grade" and args.shard == (index, n)
        assert not args.unsafe_no_sandbox and not args.skip_canary and not args.force
        shares.add(args.shard)
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts.get(args.root) == "course" and mounts.get("/tmp")
        assert args.workers == int(container["resources"]["limits"]["cpu"])
    assert len(shares) == n
    assert job["metadata"]["name"] == "grade-" + args.lab.replace("_", "-")


def test_grading_pods_have_limits_and_the_rights_bubblewrap_needs():
    container = the_container(jobs()["grade-job.yaml"])
    resources = container["resources"]
    assert resources["requests"] == resources["limits"]  # a grading pod is never throttled below its share
    assert {"cpu", "memory"} <= set(resources["limits"])
    context = container["securityContext"]
    assert context["runAsUser"] == 0 and context["capabilities"]["add"] == ["SYS_ADMIN"]
    assert context["seccompProfile"]["type"] == "Unconfined" and context["appArmorProfile"]["type"] == "Unconfined"
    assert "privileged" not in context
    names = {e["name"] for e in container["env"]}
    assert "GRADEBOOK_URL" in names and "secretKeyRef" in next(
        e["valueFrom"] for e in container["env"] if e["name"] == "GRADEBOOK_URL")


def test_the_release_job_releases_the_lab_the_grading_job_grades():
    release, grading = (the_container(jobs()[name]) for name in ("release-job.yaml", "grade-job.yaml"))
    released = kit_command(release["command"] + release["args"])
    graded = kit_command([a.replace(INDEX, "0") for a in grading["command"] + grading["args"]])
    assert released.command == "release" and released.labs == [graded.lab] and released.root == graded.root


def run_sbatch(tmp_path, *args, **slurm):
    """Run the Slurm script as a task of an array would, with a ``python`` that records its arguments."""
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    (stub / "python").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS_FILE"\n')
    (stub / "python").chmod(0o755)
    out = tmp_path / "args"
    env = {"PATH": f"{stub}:{os.environ['PATH']}", "ARGS_FILE": str(out), "SLURM_SUBMIT_DIR": str(KIT.root),
           "SLURM_CPUS_PER_TASK": "2", **slurm}
    result = subprocess.run(["bash", str(DEPLOY / "slurm" / "grade.sbatch"), *args], env=env,
                            capture_output=True, text=True, timeout=60)
    return result, out.read_text().splitlines() if out.exists() else None


def test_the_slurm_script_is_valid_bash_with_sbatch_options():
    script = (DEPLOY / "slurm" / "grade.sbatch").read_text()
    assert subprocess.run(["bash", "-n", str(DEPLOY / "slurm" / "grade.sbatch")]).returncode == 0
    options = [line.split()[1] for line in script.splitlines() if line.startswith("#SBATCH")]
    assert "--array=0-3" in options and "--cpus-per-task=2" in options and any(o.startswith("--mem=") for o in options)


@pytest.mark.parametrize("task", range(4))
def test_each_slurm_array_task_grades_its_own_share(tmp_path, task):
    result, argv = run_sbatch(tmp_path, "lab1_initialization", SLURM_ARRAY_TASK_ID=str(task),
                              SLURM_ARRAY_TASK_MIN="0", SLURM_ARRAY_TASK_MAX="3", SLURM_ARRAY_TASK_COUNT="4")
    assert result.returncode == 0, result.stderr
    args = kit_command(["python", *argv])
    assert args.command == "grade" and args.lab == "lab1_initialization" and args.shard == (task, 4)
    assert args.workers == 2 and Path(args.root) == KIT.root and not args.unsafe_no_sandbox


def test_one_slurm_task_run_again_alone_keeps_its_share(tmp_path):
    result, argv = run_sbatch(tmp_path, "lab1_initialization", SHARDS="4", SLURM_ARRAY_TASK_ID="2",
                              SLURM_ARRAY_TASK_MIN="2", SLURM_ARRAY_TASK_MAX="2", SLURM_ARRAY_TASK_COUNT="1")
    assert result.returncode == 0, result.stderr
    assert kit_command(["python", *argv]).shard == (2, 4)


def test_a_slurm_array_not_numbered_from_zero_is_refused(tmp_path):
    result, argv = run_sbatch(tmp_path, "lab1_initialization", SLURM_ARRAY_TASK_ID="1",
                              SLURM_ARRAY_TASK_MIN="1", SLURM_ARRAY_TASK_MAX="4", SLURM_ARRAY_TASK_COUNT="4")
    assert result.returncode == 2 and argv is None
    assert "must be 0 to N-1" in result.stderr
