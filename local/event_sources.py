"""Lambda's SQS event source mapping, on one machine: poll a queue in moto, invoke the handler with batches.

What it keeps of AWS's behaviour: batches of up to `batch_size` messages in Lambda's SQS event shape, at most
`concurrency` invocations at once, the poller acting with the function's own role (receive, delete), partial
batch responses (`batchItemFailures`: those messages stay and come back, the others are deleted), a failed
invocation leaving the whole batch, and the queue's redrive policy moving a
message that came back too often to its dead-letter queue (moto does that on receive). One difference: AWS
lets a failed message come back when its visibility timeout ends; here it comes back at once, so retries
and the dead-letter queue are seen within a test while the visibility timeout stays long enough that a slow
start is never delivered twice.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from . import iam as local_iam
from .lambda_runtime import LocalContext

# A receive waits this long for a message (AWS's event source mappings long-poll for up to 20 s; a short wait
# keeps the stack's stop prompt).
LONG_POLL_S = 1


class SqsEventSource:
    def __init__(
        self,
        queue_url: str,
        queue_arn: str,
        handler: Callable[[dict[str, Any], Any], Any],
        function: str,
        region: str,
        batch_size: int = 10,
        concurrency: int = 4,
    ):
        self.queue_url, self.queue_arn, self.region = queue_url, queue_arn, region
        self._handler, self._function = handler, function
        self._batch_size = batch_size
        self._slots = threading.Semaphore(concurrency)
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix=f"sqs-{function}")
        self._stop = threading.Event()
        self._busy = 0
        self._lock = threading.Lock()
        self._client = boto3.client("sqs", region_name=region)
        self._thread = threading.Thread(target=self._poll, name=f"sqs-poller-{function}", daemon=True)
        self.invocations = 0

    def start(self) -> SqsEventSource:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def idle(self) -> bool:
        """No message waiting or in flight, and no invocation running."""
        with self._lock:
            if self._busy:
                return False
        attributes = self._client.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"])
            + int(attributes["ApproximateNumberOfMessagesNotVisible"])
            == 0
        )

    def wait_until_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self._function}'s queue still has work after {timeout} s")
            time.sleep(0.1)

    def _poll(self) -> None:
        while not self._stop.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue
            try:
                with local_iam.as_function(self._function):
                    # Long polling, as Lambda's event source mapping polls: moto answers as soon as a message
                    # is sent (or made visible again, _visible_again), else after about a second. Short polls
                    # every 0.1 s took ~8% of a test process's CPU while the queue stood empty.
                    messages = self._client.receive_message(
                        QueueUrl=self.queue_url,
                        MaxNumberOfMessages=self._batch_size,
                        AttributeNames=["All"],
                        MessageAttributeNames=["All"],
                        WaitTimeSeconds=LONG_POLL_S,
                    ).get("Messages", [])
            except Exception:  # noqa: BLE001 - the stack is stopping, or moto hiccuped: poll again
                messages = []
                self._stop.wait(0.1)
            if not messages:
                self._slots.release()
                continue
            with self._lock:
                self._busy += 1
            self._pool.submit(self._invoke, messages)

    def _invoke(self, messages: list[dict[str, Any]]) -> None:
        try:
            event = {"Records": [self._record(message) for message in messages]}
            self.invocations += 1
            try:
                result = self._handler(event, LocalContext(function_name=self._function))
                failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
            except Exception:  # noqa: BLE001 - Lambda: a failed invocation leaves the whole batch on the queue
                failed = {message["MessageId"] for message in messages}
            done = [message for message in messages if message["MessageId"] not in failed]
            again = [message for message in messages if message["MessageId"] in failed]
            with local_iam.as_function(self._function):
                if done:
                    self._client.delete_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                        ],
                    )
                if again:  # AWS waits out the visibility timeout; here the retry comes at once
                    self._client.change_message_visibility_batch(
                        QueueUrl=self.queue_url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                            for i, m in enumerate(again)
                        ],
                    )
                    self._visible_again()
        finally:
            with self._lock:
                self._busy -= 1
            self._slots.release()

    def _visible_again(self) -> None:
        """Wake a long poll waiting on the queue: moto wakes it for a message sent, not for one made visible."""
        from moto.sqs.models import sqs_backends

        _, _, _, region, account, name = self.queue_arn.split(":")
        with contextlib.suppress(
            Exception
        ):  # moto's internals: without the nudge the poll sees it within ~1 s
            queue = sqs_backends[account][region].get_queue(name)
            with queue._messages_lock:
                queue._messages_lock.notify_all()

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.region,
        }


class ExecutionEndEvents:
    """EventBridge's rule on Step Functions' "Execution Status Change" events, on one machine.

    The CDK app routes the end of an export run whose status is ABORTED, TIMED_OUT or FAILED to the
    ExportSteps function (infra/cdk/constructs/workflow.py). moto emits no events, so local/aws.py tells this
    each run that ends (`wake(arn)`: a stop, a time-out, or the end of its program), and it invokes the handler
    once per run of this state machine that ended ABORTED, TIMED_OUT or FAILED, with EventBridge's event shape
    and the function's role, within moments, as EventBridge does. A failed invocation is tried again a second
    later (locally for ever; in AWS Lambda's asynchronous retries, then the dead-letter queue and the sweep).
    Every `FULL_LOOK_S` it also lists every ended run once, so a run whose end was not told is still
    delivered. (It used to list them every second: that look grew with every run a long session made, and
    slowed a 500-seed chaos run to half its pace.)
    """

    STATUSES = ("ABORTED", "TIMED_OUT", "FAILED")
    FULL_LOOK_S = 30.0
    TOLD_TOO_EARLY_S = 10.0  # a run told as ended that still says RUNNING is looked at again for this long

    def __init__(
        self,
        state_machine_arn: str,
        handler: Callable[[dict[str, Any], Any], Any],
        function: str,
        region: str,
        account: str,
        every_s: float = 1.0,
    ):
        self.state_machine_arn, self.region, self.account = state_machine_arn, region, account
        self._handler, self._function, self._every_s = handler, function, every_s
        self._client = boto3.client("stepfunctions", region_name=region)
        self._delivered: set[str] = set()
        self._told: dict[str, float] = {}  # runs told as ended, not delivered yet -> when first told
        self._told_lock = threading.Lock()
        self._full_look_at = 0.0  # the first look lists every ended run
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="eventbridge-sfn-status", daemon=True)
        self.invocations = 0
        self.failures = 0

    def start(self) -> ExecutionEndEvents:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)

    def wake(self, execution_arn: str | None = None) -> None:
        """A run ended (`execution_arn`, when known): look now rather than at the next second."""
        if execution_arn is not None:
            with self._told_lock:
                self._told.setdefault(execution_arn, time.monotonic())
        self._wake.set()

    def _watch(self) -> None:
        while True:
            self._wake.wait(self._every_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.deliver()
            except Exception:  # noqa: BLE001 - the stack is stopping, or moto hiccuped: look again
                continue

    def lose(self, execution_arn: str) -> None:
        """Never deliver this run's end (EventBridge delivers best effort): the reconciliation sweep's case."""
        self._delivered.add(execution_arn)

    def deliver(self) -> int:
        """Invoke the target for every ended run told (or, every `FULL_LOOK_S`, listed) and not delivered yet;
        the number delivered."""
        with self._told_lock:
            told, self._told = self._told, {}
        arns = dict(told)
        if time.monotonic() >= self._full_look_at:
            self._full_look_at = time.monotonic() + self.FULL_LOOK_S
            for status in self.STATUSES:
                pages = self._client.get_paginator("list_executions").paginate(
                    stateMachineArn=self.state_machine_arn, statusFilter=status
                )
                for page in pages:
                    for execution in page["executions"]:
                        arns.setdefault(execution["executionArn"], time.monotonic())
        delivered = 0
        for arn, since in arns.items():
            if arn in self._delivered:
                continue
            try:
                described = self._client.describe_execution(executionArn=arn)
            except self._client.exceptions.ExecutionDoesNotExist:
                continue  # a run of a state machine since deleted (a test's own)
            if described["stateMachineArn"] != self.state_machine_arn:
                continue
            if described["status"] not in self.STATUSES:
                if described["status"] == "RUNNING" and time.monotonic() - since < self.TOLD_TOO_EARLY_S:
                    self._tell_again(arn, since)
                continue
            self.invocations += 1
            try:
                self._handler(self._event(described), LocalContext(function_name=self._function))
            except Exception:  # noqa: BLE001 - delivered again at the next look
                self.failures += 1
                self._tell_again(arn, since)
                continue
            self._delivered.add(arn)
            delivered += 1
        return delivered

    def _tell_again(self, arn: str, since: float) -> None:
        with self._told_lock:
            self._told.setdefault(arn, since)

    def _event(self, described: dict[str, Any]) -> dict[str, Any]:
        def millis(value: Any) -> int | None:
            return int(value.timestamp() * 1000) if hasattr(value, "timestamp") else None

        return {
            "version": "0",
            "id": described["executionArn"].rsplit(":", 1)[-1],
            "detail-type": "Step Functions Execution Status Change",
            "source": "aws.states",
            "account": self.account,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "region": self.region,
            "resources": [described["executionArn"]],
            "detail": {
                "executionArn": described["executionArn"],
                "stateMachineArn": described["stateMachineArn"],
                "name": described.get("name"),
                "status": described["status"],
                "startDate": millis(described.get("startDate")),
                "stopDate": millis(described.get("stopDate")),
                "input": described.get("input"),
                "output": described.get("output"),
                "error": described.get("error"),
                "cause": described.get("cause"),
            },
        }
