#!/usr/bin/env bash
# JMH micro-benchmarks of the hot pieces: page index lookup and loading, note encoding.
# usage: src/bench/jmh.sh [JMH_OPTIONS...]   e.g. src/bench/jmh.sh PageIndexBenchmark -p runs=20000
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -B -q -DskipTests test-compile dependency:build-classpath -Dmdep.outputFile=target/test-classpath.txt
exec java -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" org.openjdk.jmh.Main "$@"
