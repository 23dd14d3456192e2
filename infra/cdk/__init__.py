"""AWS CDK app of the export service: one construct per concern, composed by stack.py."""
