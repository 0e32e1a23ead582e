from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from moderation.models import Action, AppealState, Category, ReportState, Severity, TargetKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('moderation', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='ActorRestriction',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.CharField(unique=True, max_length=2048)),
                ('severity', fields.CharEnumField(description='SUSPEND: suspend\nSILENCE: silence', enum_type=Severity, max_length=16)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'actor_restriction', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'One remote actor the moderators suspended or silenced (the rest of its server is not).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AuditEntry',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor', fields.CharField(max_length=2048)),
                ('action', fields.CharField(max_length=64)),
                ('target', fields.CharField(max_length=2048)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_audit', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'One line of the append-only audit log: who did what to what, why, and when.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Report',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('reporter_member_id', fields.IntField(null=True, db_index=True)),
                ('reporter_actor', fields.CharField(null=True, max_length=2048)),
                ('origin_host', fields.CharField(null=True, max_length=255)),
                ('activity_id', fields.CharField(null=True, unique=True, max_length=2048)),
                ('target_kind', fields.CharEnumField(description='ACCOUNT: account\nLISTING: listing\nMESSAGE: message\nDOMAIN: domain', enum_type=TargetKind, max_length=16)),
                ('target_uri', fields.CharField(max_length=2048)),
                ('target_actor', fields.CharField(max_length=2048)),
                ('objects', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('category', fields.CharEnumField(default=Category.OTHER, description='SPAM: spam\nFRAUD: fraud\nHARASSMENT: harassment\nILLEGAL: illegal\nOTHER: other', enum_type=Category, max_length=16)),
                ('comment', fields.TextField(default='', unique=False)),
                ('state', fields.CharEnumField(default=ReportState.OPEN, description='OPEN: open\nRESOLVED: resolved\nDISMISSED: dismissed', enum_type=ReportState, max_length=16)),
                ('forwarded_to', fields.CharField(null=True, max_length=255)),
                ('identified', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('resolved_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('resolved_by', fields.CharField(null=True, max_length=64)),
            ],
            options={'table': 'moderation_report', 'app': 'moderation', 'indexes': [Index(fields=['state', 'created_at'])], 'pk_attr': 'id', 'table_description': 'A report, made by a member here or received from another server as a Flag.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Decision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('action', fields.CharEnumField(description='DISMISS: dismiss\nHIDE: hide\nWARN: warn\nSUSPEND: suspend\nUNSUSPEND: unsuspend\nSILENCE: silence\nUNSILENCE: unsilence', enum_type=Action, max_length=16)),
                ('target_kind', fields.CharEnumField(description='ACCOUNT: account\nLISTING: listing\nMESSAGE: message\nDOMAIN: domain', enum_type=TargetKind, max_length=16)),
                ('target', fields.CharField(max_length=2048)),
                ('member_id', fields.IntField(null=True, db_index=True)),
                ('report', fields.ForeignKeyField('moderation.Report', source_field='report_id', null=True, db_constraint=True, to_field='id', related_name='decisions', on_delete=OnDelete.SET_NULL)),
                ('moderator', fields.CharField(max_length=64)),
                ('reason', fields.TextField(default='', unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('overturned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'moderation_decision', 'app': 'moderation', 'pk_attr': 'id', 'table_description': "A moderator's decision, final unless appealed (once) by the member it concerns."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Appeal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('decision', fields.OneToOneField('moderation.Decision', source_field='decision_id', db_constraint=True, to_field='id', related_name='appeal', on_delete=OnDelete.CASCADE)),
                ('member_id', fields.IntField(db_index=True)),
                ('text', fields.TextField(unique=False)),
                ('state', fields.CharEnumField(default=AppealState.PENDING, description='PENDING: pending\nUPHELD: upheld\nOVERTURNED: overturned', enum_type=AppealState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.CharField(null=True, max_length=64)),
                ('answer', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'moderation_appeal', 'app': 'moderation', 'pk_attr': 'id', 'table_description': "A member's one appeal of a decision about them (one per decision, never of an appeal)."},
            bases=['Model'],
        ),
        ops.AlterModelOptions(
            name='DomainBlock',
            options={'table': 'domain_block', 'app': 'moderation', 'pk_attr': 'id', 'table_description': 'A server the community suspends or silences, and every subdomain of it.'},
        ),
        ops.AddField(
            model_name='DomainBlock',
            name='severity',
            field=fields.CharEnumField(default=Severity.SUSPEND, description='SUSPEND: suspend\nSILENCE: silence', db_default='suspend', enum_type=Severity, max_length=16),
        ),
    ]
