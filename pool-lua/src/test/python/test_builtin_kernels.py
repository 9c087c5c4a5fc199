"""carpo's built-in kernels against the peer test suite for Jupyter kernels (jupyter_kernel_test).

Run with the kernelspecs installed where jupyter_client finds them, e.g.:
    ./carpo install-kernel carpo-lua --prefix /tmp/k && ./carpo install-kernel carpo-java --prefix /tmp/k
    JUPYTER_PATH=/tmp/k/share/jupyter /usr/bin/python3 -m unittest -v pool-lua/src/test/python/test_builtin_kernels.py
CarpoCommandIT does exactly this during `mvn verify`.
"""
import unittest
from queue import Empty

import jupyter_kernel_test
from jupyter_client.utils import run_sync
from jupyter_kernel_test.msgspec_v5 import validate_message

IOPUB_WAIT = 10


class PatientExecuteHelper:
    """The suite's checks with room for a loaded machine: its execute_helper gives each iopub message
    after the reply 0.1 s, which a kernel descheduled between its reply and its idle can miss.
    A mixin, not a TestCase, so that unittest collects no suite of its own from it."""

    def execute_helper(self, code, timeout=jupyter_kernel_test.TIMEOUT, silent=False, store_history=True,
                       stop_on_error=True):
        msg_id = self.kc.execute(code=code, silent=silent, store_history=store_history, stop_on_error=stop_on_error)
        reply = self.get_non_kernel_info_reply(timeout=timeout)
        validate_message(reply, "execute_reply", msg_id)
        busy_msg = run_sync(self.kc.iopub_channel.get_msg)(timeout=IOPUB_WAIT)
        validate_message(busy_msg, "status", msg_id)
        self.assertEqual(busy_msg["content"]["execution_state"], "busy")
        output_msgs = []
        while True:
            try:
                msg = run_sync(self.kc.iopub_channel.get_msg)(timeout=IOPUB_WAIT)
            except Empty:
                self.fail("no idle on iopub within %d s of the execute_reply" % IOPUB_WAIT)
            validate_message(msg, msg["msg_type"], msg_id)
            if msg["msg_type"] == "status":
                self.assertEqual(msg["content"]["execution_state"], "idle")
                break
            elif msg["msg_type"] == "execute_input":
                self.assertEqual(msg["content"]["code"], code)
                continue
            output_msgs.append(msg)
        return reply, output_msgs


class CarpoLuaKernelTests(PatientExecuteHelper, jupyter_kernel_test.KernelTests):
    kernel_name = "carpo-lua"
    language_name = "lua"
    file_extension = ".lua"

    code_hello_world = 'print("hello, world")'
    code_stderr = 'io.stderr:write("oops\\n")'
    code_generate_error = 'error("boom")'
    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "string.rep('ab', 3)", "result": "ababab"},
        {"code": "x = 20; return x + 1", "result": "21"},
    ]
    supported_history_operations = ()

    completion_samples = [
        {"text": "string.for", "matches": {"format"}},
        {"text": "pri", "matches": {"print"}},
    ]
    complete_code_samples = ["x = 1", "for i = 1, 3 do print(i) end", "1 + 1"]
    incomplete_code_samples = ["for i = 1, 3 do", "function f(x)", "x = [[open"]
    invalid_code_samples = ["x = = 1", "end end"]


class CarpoJavaKernelTests(PatientExecuteHelper, jupyter_kernel_test.KernelTests):
    kernel_name = "carpo-java"
    language_name = "java"
    file_extension = ".jshell"

    code_hello_world = 'System.out.println("hello, world");'
    code_stderr = 'System.err.println("oops");'
    code_generate_error = 'throw new IllegalStateException("boom");'
    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": '"ab".repeat(3)', "result": '"ababab"'},
        {"code": "Math.max(4, 7)", "result": "7"},
        {"code": "IntStream.rangeClosed(1, 10).sum()", "result": "55"},  # the jshell tool's default imports
    ]
    supported_history_operations = ()

    completion_samples = [
        {"text": "Math.ab", "matches": {"abs(", "absExact("}},
    ]
    complete_code_samples = ["int x = 1;", "for (int i = 0; i < 3; i++) { }", "1 + 1"]
    incomplete_code_samples = ["for (int i = 0; i < 3; i++) {", "void f() {"]
    invalid_code_samples = ["int int = ;"]


if __name__ == "__main__":
    unittest.main()
