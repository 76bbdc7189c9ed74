{
  "targets": [
    {
      "target_name": "tandem_recv6",
      "sources": ["recv6.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    },
    {
      "target_name": "tandem_tcp_congestion",
      "sources": ["tcp-congestion.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
