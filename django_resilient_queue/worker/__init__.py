"""The ``runworkers`` engine: a supervisor process and the child processes it watches."""
