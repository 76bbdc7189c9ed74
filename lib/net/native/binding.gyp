{
  "targets": [
    {
      "target_name": "tandem_recv6",
      "sources": ["recv6.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
