"""The table: keys, index, TTL, recovery, protection and its customer-managed key."""

from aws_cdk.assertions import Match


def test_one_table_with_the_keys_and_index_the_code_uses(template):
    template.resource_count_is("AWS::DynamoDB::Table", 1)
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "KeySchema": [
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [
                Match.object_like(
                    {
                        "IndexName": "gsi1",
                        "KeySchema": [
                            {"AttributeName": "gsi1pk", "KeyType": "HASH"},
                            {"AttributeName": "gsi1sk", "KeyType": "RANGE"},
                        ],
                    }
                )
            ],
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
        },
    )


def test_table_is_recoverable_protected_and_encrypted_with_a_rotating_cmk(template, synthesized):
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "DeletionPolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "DeletionProtectionEnabled": True,
                    "SSESpecification": {
                        "SSEEnabled": True,
                        "SSEType": "KMS",
                        "KMSMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("DataTableKey"), "Arn"]},
                    },
                }
            ),
        },
    )
    keys = synthesized.resources("AWS::KMS::Key")
    assert keys and all(key["Properties"]["EnableKeyRotation"] for key in keys.values())


def test_snapshots_expire_but_the_documentation_reports_are_kept(synthesized):
    """ABAX's answers (snapshots/) go after days; the reports (reports/) are the employer's documentation for
    years: no lifecycle rule may expire them, and deleting the stack keeps the bucket."""
    resources = synthesized.template["Resources"]
    (bucket_id,) = [
        name
        for name, r in resources.items()
        if r["Type"] == "AWS::S3::Bucket" and name.startswith("DataSnapshots")
    ]
    bucket = resources[bucket_id]
    assert bucket["DeletionPolicy"] == "Retain"
    props = bucket["Properties"]
    assert (
        props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"][
            "SSEAlgorithm"
        ]
        == "aws:kms"
    )
    expiring = [rule for rule in props["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in rule]
    assert [(rule["Prefix"], rule["ExpirationInDays"]) for rule in expiring] == [("snapshots/", 7)]
    (policy,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::S3::BucketPolicy" and r["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert any(s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)
