#!/usr/bin/env bash
# A Spark standalone cluster on 127.0.0.1 (a master and two one-core workers, separate JVMs run from Spark's jars, no
# Spark distribution needed) and spark-submit of this module's jar on it: the integration tests' cluster, by hand.
#
#   ./local-cluster.sh start                       master on 127.0.0.1:7077 (MASTER_PORT), WORKERS workers (2)
#   ./local-cluster.sh submit --data ../data/fashion-mnist --out /tmp/run --depth 8 --epochs 1 --trainLimit 512
#   ./local-cluster.sh stop                        ends the master, the workers and their executors
#
# SUBMIT_OPTIONS adds spark-submit options (e.g. "--conf spark.executor.memory=2g"). The driver logs where each round's
# time went (spark.scalenet.roundTimes). Needs the jar to submit (mvn -pl scalenet-spark -am package -DskipTests) and Maven once, to copy Spark's jars to
# target/spark-home/jars. Logs and the workers' folders: target/local-cluster/.
set -euo pipefail
cd "$(dirname "$0")"
here=$(pwd)
state=$here/target/local-cluster
spark_home=$here/target/spark-home
master_port=${MASTER_PORT:-7077}
workers=${WORKERS:-2}
# one list of Java 17 options and one Spark version: the pom's
opens=$(sed -n 's:.*<spark.java17.opens>\(.*\)</spark.java17.opens>.*:\1:p' pom.xml)
# DL4J's training statistics (the round times the driver logs) ask an NTP server for the time unless told otherwise
clock=-Dorg.deeplearning4j.spark.time.TimeSource=org.deeplearning4j.spark.time.SystemClockTimeSource
spark_version=$(sed -n 's:.*<spark.version>\(.*\)</spark.version>.*:\1:p' pom.xml)
export SPARK_HOME=$spark_home SPARK_SCALA_VERSION=2.12 SPARK_LOCAL_IP=127.0.0.1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

spark_java() { # main class, args...: a Spark JVM in the background, its pid in $state/<name>.pid
  local name=$1; shift
  nohup java -Xmx256m $opens -cp "$spark_home/jars/*" "$@" > "$state/$name.log" 2>&1 &
  echo $! > "$state/$name.pid"
}

await() { # log, text: at most 3 minutes
  for _ in $(seq 720); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.25; done
  echo "local-cluster: no \"$2\" in $1 after 3 minutes" >&2; tail -n 20 "$1" >&2; return 1
}

kill_tree() { # pid: SIGKILL to its children (a worker's executors) and then to it
  local child
  for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$child"; done
  kill -9 "$1" 2>/dev/null || true
}

case "${1:-}" in
  start)
    if [ ! -d "$spark_home/jars" ]; then
      mvn -B -q -f src/spark-home/pom.xml package -Dspark.version="$spark_version" -DsparkHome="$spark_home"
    fi
    mkdir -p "$state"
    [ -f "$state/master.pid" ] && { echo "local-cluster: already started (./local-cluster.sh stop first)" >&2; exit 1; }
    spark_java master org.apache.spark.deploy.master.Master --host 127.0.0.1 --port "$master_port" --webui-port 0
    await "$state/master.log" "I have been elected leader"
    for i in $(seq "$workers"); do
      mkdir -p "$state/work-$i/local"
      # Spark's scratch space in the worker's folder, not /tmp, where a killed executor's would stay
      SPARK_LOCAL_DIRS=$state/work-$i/local spark_java "worker-$i" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --port 0 --webui-port 0 \
        --cores 1 --memory 2g --work-dir "$state/work-$i" "spark://127.0.0.1:$master_port"
    done
    for i in $(seq "$workers"); do await "$state/worker-$i.log" "Successfully registered with master"; done
    echo "spark://127.0.0.1:$master_port: $workers workers (1 core, 2 GiB each); logs in $state"
    ;;
  submit)
    shift
    jar=$(ls "$here"/target/scalenet-spark-*-spark.jar 2>/dev/null | head -n 1)
    [ -n "$jar" ] || { echo "local-cluster: no jar to submit: mvn -pl scalenet-spark -am package -DskipTests" >&2; exit 1; }
    # the driver runs in this JVM (client mode), as the spark-submit script would start it
    exec java -Xmx2g $opens -cp "$spark_home/jars/*" org.apache.spark.deploy.SparkSubmit \
      --master "spark://127.0.0.1:$master_port" --class dev.scalenet.spark.SparkFineTune \
      --conf spark.executor.memory=1g --conf spark.executor.cores=1 --conf "spark.cores.max=$workers" \
      --conf "spark.executor.extraJavaOptions=$opens $clock" --conf spark.executorEnv.OMP_NUM_THREADS=1 \
      --conf spark.ui.enabled=false --conf spark.driver.host=127.0.0.1 --conf spark.scalenet.roundTimes=true \
      ${SUBMIT_OPTIONS:-} "$jar" "$@"
    ;;
  stop)
    for f in "$state"/worker-*.pid "$state"/master.pid; do
      [ -f "$f" ] || continue
      kill_tree "$(cat "$f")"
      rm -f "$f"
    done
    echo "stopped"
    ;;
  *)
    echo "usage: $0 start|submit <SparkFineTune arguments>|stop" >&2
    exit 2
    ;;
esac
