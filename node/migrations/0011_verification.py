from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from node.notifications.models import NotificationType
from node.verification.models import CredentialKind, DocumentState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('node', '0010_member_verification')]

    initial = False

    operations = [
        ops.CreateModel(
            name='IssuedCredential',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('token', fields.CharField(unique=True, max_length=32)),
                ('kind', fields.CharEnumField(description='RESIDENCY: residency\nENDORSEMENT: endorsement', enum_type=CredentialKind, max_length=16)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', null=True, db_constraint=True, to_field='id', related_name='credentials', on_delete=OnDelete.SET_NULL)),
                ('subject', fields.CharField(max_length=2048)),
                ('status_index', fields.IntField(unique=True)),
                ('issued_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('valid_from', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('valid_until', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('document', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'issued_credential', 'app': 'node', 'indexes': [Index(fields=['kind', 'subject'])], 'pk_attr': 'id', 'table_description': 'A verifiable credential this node signed, served at its own URL until revoked.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ResidenceDocument',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='residence_documents', on_delete=OnDelete.CASCADE)),
                ('state', fields.CharEnumField(default=DocumentState.PENDING, description='PENDING: pending\nAPPROVED: approved\nREJECTED: rejected\nEXPIRED: expired\nWITHDRAWN: withdrawn', enum_type=DocumentState, max_length=16)),
                ('media_type', fields.CharField(max_length=32)),
                ('size_bytes', fields.IntField()),
                ('storage_name', fields.CharField(null=True, unique=True, max_length=64)),
                ('uploaded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.ForeignKeyField('node.Member', source_field='decided_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('reason', fields.CharField(default='', max_length=500)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'residence_document', 'app': 'node', 'indexes': [Index(fields=['state', 'uploaded_at'])], 'pk_attr': 'id', 'table_description': 'A proof of residence. The file itself is encrypted on disk while it waits for a'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VerificationEvent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('action', fields.CharField(max_length=32)),
                ('by', fields.ForeignKeyField('node.Member', source_field='by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('subject', fields.ForeignKeyField('node.Member', source_field='subject_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('document_id', fields.IntField(null=True)),
                ('detail', fields.CharField(default='', max_length=500)),
            ],
            options={'table': 'verification_event', 'app': 'node', 'pk_attr': 'id', 'table_description': 'The audit trail of verification: who viewed which document, who decided what, which'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Vouch',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('voucher', fields.ForeignKeyField('node.Member', source_field='voucher_id', db_constraint=True, to_field='id', related_name='vouches_given', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='vouches_received', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('withdrawn_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('discredited_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'vouch', 'app': 'node', 'unique_together': (('voucher', 'member'),), 'pk_attr': 'id', 'table_description': "A verified member's word that a neighbour lives here. One row per pair: a withdrawn or"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Invite',
            name='vouch',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Listing',
            name='verified_responders',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='Member',
            name='email',
            field=fields.CharField(default='', max_length=254),
        ),
        ops.AddField(
            model_name='Member',
            name='review_reason',
            field=fields.CharField(default='', max_length=200),
        ),
        ops.AddField(
            model_name='Member',
            name='review_since',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Member',
            name='unit',
            field=fields.CharField(default='', max_length=100),
        ),
        ops.AlterField(
            model_name='Notification',
            name='type',
            field=fields.CharEnumField(description='RESPONSE: listing.response\nAGREEMENT: listing.agreement\nEXPIRING: listing.expiring\nMATCH: saved_search.match\nVERIFIED: verification.verified\nVOUCHED: verification.vouched\nDOCUMENT_REJECTED: verification.rejected\nVERIFICATION_LOST: verification.lost\nVERIFICATION_REVIEW: verification.review', enum_type=NotificationType, max_length=32),
        ),
        ops.AddField(
            model_name='Notification',
            name='detail',
            field=fields.CharField(default='', max_length=500),
        ),
    ]
